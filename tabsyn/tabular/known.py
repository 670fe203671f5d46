"""Known cells for conditional sampling and imputation: the estimator's arguments, on the pandas side.

Checks what a user passes (``conditions``, a frame of known columns, a frame
with holes) against the fitted table's columns, and puts the exact known values
back into generated rows (:class:`KnownCells`). Encoding the known cells into
the model's arrays is :meth:`tabsyn.tabular.codec.TableCodec.encode_known`,
which raises the :class:`KnownValueError` defined there; this module never
imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsyn.table.schema import ID, ColumnSpec
from tabsyn.tabular.codec import KnownValueError
from tabsyn.tabular.codec.values import listed

__all__ = ["KnownCells", "KnownValueError", "check_known_frame", "conditions_frame"]


def conditions_frame(conditions: object, specs: list[ColumnSpec]) -> pd.DataFrame:
    """``{column: value}`` -> a one-row frame, after checking every column exists and is not an ID."""
    if not isinstance(conditions, dict):
        raise TypeError(f"conditions must be a dict {{column: value}}; got {type(conditions).__name__}")
    names = [s.name for s in specs]
    problems = []
    unknown = [c for c in conditions if c not in names]
    if unknown:
        problems.append(f"no column named {', '.join(map(repr, unknown))}; the columns are {listed(names)}")
    listy = [c for c, v in conditions.items() if c not in unknown and not _is_scalar(v)]
    if listy:
        problems.append(f"conditions take one value per column, but {', '.join(map(repr, listy))} got "
                        f"{type(conditions[listy[0]]).__name__}; for a value per row use "
                        f"sample_remaining_columns(known_df)")
    ids = [s.name for s in specs if s.kind == ID and s.name in conditions]
    if ids:
        problems.append(f"{', '.join(map(repr, ids))} holds IDs, which are generated anew for every row; "
                        f"it cannot be a condition")
    if problems:
        raise KnownValueError("conditions: " + "; ".join(problems))
    order = [n for n in names if n in conditions]
    frame = pd.DataFrame({i: [conditions[n]] for i, n in enumerate(order)})
    frame.columns = pd.Index(order, tupleize_cols=False, dtype=object)
    return frame


def check_known_frame(known: object, specs: list[ColumnSpec], *, argument: str, all_columns: bool) -> pd.DataFrame:
    """A DataFrame of some (or, with ``all_columns``, all) of the table's columns, rows > 0."""
    if not isinstance(known, pd.DataFrame):
        raise TypeError(f"{argument} must be a pandas DataFrame with some of the table's columns; "
                        f"got {type(known).__name__}")
    names = [s.name for s in specs]
    problems = []
    if len(known) == 0:
        problems.append("it has no rows")
    duplicated = known.columns[known.columns.duplicated()].unique().tolist()
    if duplicated:
        problems.append(f"duplicate column names {duplicated}")
    unknown = [c for c in known.columns if c not in names]
    if unknown:
        problems.append(f"columns {listed(unknown)} are not in the table; its columns are {listed(names)}")
    if all_columns:
        absent = [n for n in names if n not in set(known.columns)]
        if absent:
            problems.append(f"columns {listed(absent)} are missing; pass every column of the table, "
                            f"with missing values (NaN, None) in the cells to fill")
    if problems:
        raise KnownValueError(f"{argument}: " + "; ".join(problems))
    order = [n for n in names if n in set(known.columns)]
    return known[order].reset_index(drop=True)


def _is_scalar(value: object) -> bool:
    return value is None or np.ndim(value) == 0 and not isinstance(value, (dict, set))


@dataclass
class KnownCells:
    """Known cells of a batch: the denoiser's condition, codes to forbid, exact values to restore.

    ``cond``: one condition vector per row (:mod:`tabsyn.tabular.conditioning`);
    ``forbid_missing``: categorical codes whose "missing" level may not be drawn
    (imputation); ``values`` / ``cells``: the given values, in the generated
    columns' dtypes, and which of them to write back.
    """

    cond: np.ndarray
    forbid_missing: np.ndarray
    values: pd.DataFrame
    cells: np.ndarray

    def take(self, index: np.ndarray) -> "KnownCells":
        return KnownCells(self.cond[index], self.forbid_missing[index],
                          self.values.iloc[index].reset_index(drop=True), self.cells[index])

    def given(self, label: object) -> np.ndarray:
        """Which rows give the cell of column ``label``."""
        for k, name in enumerate(self.values.columns):
            if name == label:
                return self.cells[:, k]
        return np.zeros(len(self.cells), bool)

    def restore(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the known cells set to exactly the given values."""
        for k, label in enumerate(self.values.columns):
            rows = self.cells[:, k]
            if rows.any():
                column = frame[label]
                given = self.values.iloc[:, k].set_axis(column.index)
                frame[label] = column.where(~rows, given).astype(column.dtype)
        return frame
