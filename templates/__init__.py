"""Jinja templates: ``sql/`` (one SELECT per file, file name = table name),
``html/`` and ``tex/`` (report documents). Loaded by :mod:`reports`."""
