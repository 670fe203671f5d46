"""Column shapes, column pair trends and diagnostics from sdmetrics' reports.

Column Pair Trends averages over *all* column pairs (correlation and association
thresholds set to 0). That is the definition TabSyn's paper used (sdmetrics 0.11);
sdmetrics 0.32's default instead averages only the pairs that are strongly related in
the real data, which would make these numbers incomparable with published ones.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tabsyn.table.schema import ColumnSpec, sdmetrics_metadata

if TYPE_CHECKING:
    from sdmetrics.reports import DiagnosticReport, QualityReport

_TABLE = "table"


@dataclass
class Fidelity:
    """How closely the synthetic columns and column pairs follow the real ones (1 = same).

    Attributes
    ----------
    quality_score : float
        Mean of ``column_shapes`` and ``column_pair_trends`` (sdmetrics' overall score).
    column_shapes : float
        Mean over columns of 1 - KS statistic (numerical, datetime) or 1 - total
        variation distance (categorical).
    column_pair_trends : float
        Mean over column pairs of 1 - |correlation difference| / 2 (numerical pairs)
        or 1 - total variation distance of the contingency tables (other pairs).
    diagnostic_score, data_validity, data_structure : float
        sdmetrics' DiagnosticReport: values within the real ranges and categories, keys
        unique, and the same column names.
    column_shapes_details, column_pair_trends_details, data_validity_details : DataFrame
        sdmetrics' per-column and per-pair scores.
    quality_report, diagnostic_report : sdmetrics reports
        The generated reports, e.g. for ``quality_report.get_visualization(...)``.
    """

    quality_score: float
    column_shapes: float
    column_pair_trends: float
    diagnostic_score: float
    data_validity: float
    data_structure: float
    column_shapes_details: pd.DataFrame = field(repr=False)
    column_pair_trends_details: pd.DataFrame = field(repr=False)
    data_validity_details: pd.DataFrame = field(repr=False)
    quality_report: QualityReport = field(repr=False)
    diagnostic_report: DiagnosticReport = field(repr=False)

    def scores(self) -> dict:
        """The six scores as plain floats."""
        names = ("quality_score", "column_shapes", "column_pair_trends",
                 "diagnostic_score", "data_validity", "data_structure")
        return {n: float(getattr(self, n)) for n in names}


@contextmanager
def quiet_sdmetrics():
    """Silence sdmetrics' internal pandas deprecation warnings, which users cannot act on."""
    with warnings.catch_warnings():
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category, module=r"sdmetrics(\.|$)")
        yield


def _details(report, name: str) -> pd.DataFrame:
    details = report.get_details(name)
    # With the thresholds at 0 every pair counts and no association is computed.
    unused = ["Table", "Meets Threshold?", "Real Association"]
    return details.drop(columns=unused, errors="ignore").reset_index(drop=True)


def _property(report, name: str) -> float:
    props = report.get_properties().set_index("Property")["Score"]
    return float(props.get(name, np.nan))


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, specs: list[ColumnSpec]) -> Fidelity:
    """Run sdmetrics' QualityReport and DiagnosticReport on two tables with the same columns.

    Column labels are written as strings for sdmetrics; ``specs`` gives each column's kind.
    """
    # Imported here: sdmetrics imports torch, which `import tabsyn.evaluation` must not pay for.
    from sdmetrics.reports import DiagnosticReport, QualityReport

    metadata = {"tables": {_TABLE: sdmetrics_metadata(specs)}}
    real = real.rename(columns=str)
    synthetic = synthetic.rename(columns=str)

    quality = QualityReport()
    quality.real_correlation_threshold = 0
    quality.real_association_threshold = 0
    diagnostic = DiagnosticReport()
    with quiet_sdmetrics():
        quality.generate({_TABLE: real}, {_TABLE: synthetic}, metadata, verbose=False)
        diagnostic.generate({_TABLE: real}, {_TABLE: synthetic}, metadata, verbose=False)

    shapes = _property(quality, "Column Shapes")
    trends = _property(quality, "Column Pair Trends")
    validity = _property(diagnostic, "Data Validity")
    structure = _property(diagnostic, "Data Structure")
    return Fidelity(
        quality_score=float(np.nanmean([shapes, trends])),
        column_shapes=shapes,
        column_pair_trends=trends,
        diagnostic_score=float(np.nanmean([validity, structure])),
        data_validity=validity,
        data_structure=structure,
        column_shapes_details=_details(quality, "Column Shapes"),
        column_pair_trends_details=_details(quality, "Column Pair Trends"),
        data_validity_details=_details(diagnostic, "Data Validity"),
        quality_report=quality,
        diagnostic_report=diagnostic,
    )
