"""The Jinja templates several report kinds share: ``sql/`` (one SELECT per file,
file name = table name), ``html/`` and ``tex/`` (the base document and its
macros). Each kind's own live in its folder, ``reports/kinds/<kind>/``. Loaded
by :mod:`reports`."""
