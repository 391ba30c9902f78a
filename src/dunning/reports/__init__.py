"""Reports: a report's JSON data laid out once as a document, rendered in every form.

A wing of its own that imports nothing of the domain (docs/reports.md): :mod:`.document` lays
a report's data out (figures, tables with their charts), :mod:`.locales` holds the words and
number styles, :mod:`.text` writes the terminal's text, :mod:`.export` CSV and Excel,
:mod:`.html` and :mod:`.charts` the page.
"""
