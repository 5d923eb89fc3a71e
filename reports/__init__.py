"""Reports: SQL models over the result store, statistics, figures and rendering.

Data flow, one way: store tables -> SQL models (``*.sql.j2``, :mod:`reports.sql`)
-> statistics in Python (:mod:`reports.stats`) written back as
``report_<kind>_*`` tables -> a document (:mod:`reports.document`) rendered to
HTML and LaTeX by :mod:`reports.render`.

Each report kind is one folder of :mod:`reports.kinds` (options, compute,
document, its SQL models and templates), registered by name; the compute
skeleton they share is :mod:`reports.common`, the document parts
:mod:`reports.document_parts`, the figures :mod:`reports.figures`, the number
formats :mod:`reports.formatting`. The statistics each measure emits come in as
a :data:`core.catalog.Catalog`; reports never import the measures.
"""
