"""Reports: SQL models over the result store, statistics, figures and rendering.

Data flow, one way: store tables -> ``templates/sql/*.sql.j2`` materialised by
:mod:`reports.sql` -> statistics in Python (:mod:`reports.stats`) written back
as ``report_<kind>_*`` tables -> a document (:mod:`reports.document`) rendered
to HTML and LaTeX by :mod:`reports.render`. Report kinds are registered in
:mod:`reports.kinds`; each kind's compute skeleton is :mod:`reports.common`, the
document parts they share :mod:`reports.document_parts`, their figures :mod:`reports.figures`.
"""
