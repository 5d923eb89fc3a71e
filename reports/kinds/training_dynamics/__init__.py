"""Report ``training_dynamics``: measures over checkpoint epochs, and how early they predict the gap.

Options in :mod:`.options`, statistics and tables in :mod:`.compute`, the
document in :mod:`.document`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.kinds import register_kind
from reports.kinds.training_dynamics.options import KIND, TITLE, TrainingDynamicsConfig

if TYPE_CHECKING:  # the compute and the document (duckdb, polars, statistics) load when the kind is built
    import duckdb

    from core.catalog import Catalog
    from reports.document import Report


@register_kind(KIND, order=40, title=TITLE, options=TrainingDynamicsConfig,
               summary="Measures over checkpoint epochs (median, IQR by sweep axis), their Kendall tau-b / "
                       "Spearman rho with the final gap at each epoch (top statistics); accuracy curves")
def build(con: duckdb.DuckDBPyConnection, options: TrainingDynamicsConfig | None = None,
          catalog: Catalog | None = None) -> Report:
    """Compute the ``training_dynamics`` report and return its document.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The store (writable).
    options : TrainingDynamicsConfig, optional
    catalog : core.catalog.Catalog, optional
        Not used; the kinds' common signature.

    Returns
    -------
    reports.document.Report
    """
    from reports.kinds.training_dynamics.compute import compute
    from reports.kinds.training_dynamics.document import document

    return document(con, compute(con, options, catalog))
