"""Report ``persistence``: persistence diagrams, Betti curves and diagram summaries by sweep axis.

Options in :mod:`.options`, statistics and tables in :mod:`.compute`, the
document in :mod:`.document`.
"""

from __future__ import annotations

import duckdb

from core.catalog import Catalog
from reports.document import Report
from reports.kinds import register_kind
from reports.kinds.persistence.compute import compute
from reports.kinds.persistence.document import TITLE, document
from reports.kinds.persistence.options import KIND, PersistenceConfig


@register_kind(KIND, order=60, title=TITLE, options=PersistenceConfig,
               summary="Persistence diagrams of representative runs, Betti curves and diagram summaries by "
                       "sweep axis")
def build(con: duckdb.DuckDBPyConnection, options: PersistenceConfig | None = None,
          catalog: Catalog | None = None) -> Report:
    """Compute the ``persistence`` report and return its document.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable).
    options : PersistenceConfig, optional
    catalog : core.catalog.Catalog, optional
        Not used; the kinds' common signature.

    Returns
    -------
    reports.document.Report
    """
    return document(con, compute(con, options, catalog))
