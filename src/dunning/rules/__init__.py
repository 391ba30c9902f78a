"""Rule files: loading, the expression language, schema and type checking (the front end).

Stages, one module each: ``source`` (positioned YAML), ``reader`` (reading it), ``expr`` (the
expression language's parser over the syntax ``nodes``), ``schema`` (the shape of a policy
file), ``guard_config`` (its guards), ``checker`` (with ``params``, ``typecheck``,
``outcomes``, ``assessment`` and ``coverage``) → ``ir``, the checked policy every later stage
reads. ``frontend`` runs them all.
"""
