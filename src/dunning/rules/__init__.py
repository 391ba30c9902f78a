"""Rule files: loading, the expression language, schema and type checking (the front end).

Stages, one module each: ``source`` (positioned YAML), ``expr`` (lexer, parser, syntax nodes),
``schema`` (the shape of a policy file), ``checker`` (names, types, totality → policy IR).
"""
