"""The privacy guard: flag synthetic rows that copy, or sit too close to, a real row.

``PrivacyGuard.fit`` keeps, from the table given to ``TabSynthesizer.fit``:

- a 64-bit hash of every row (over the non-ID columns), to find exact copies;
- every row in the distance space of :class:`tabsyn.table.rows.RowSpace`
  (the one the privacy evaluation measures in), to find near copies;
- the distance from each *held-out* row (the validation rows the models never
  trained on) to its closest training row: how close fresh real rows come to
  the training rows. A synthetic row closer to a real row than the ``quantile``
  of these distances is "too close".

``check(frame, quantile)`` says which rows of a synthetic frame are exact copies
and which are too close; the synthesizer redraws those rows.

What it does not do: it is not differential privacy. It bounds how close any
single synthetic row comes to any single real row, which stops verbatim leaks
and near-verbatim ones, but a model can still reveal aggregate facts about the
training rows, rare combinations it learned well, or membership to an attacker
who queries it many times. The fitted guard holds the training rows (encoded),
so a model file is as sensitive as the data: share synthetic rows, not models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsyn.table.rows import RowPoints, RowSpace, row_keys
from tabsyn.table.schema import ColumnSpec

DEFAULT_QUANTILE = 0.01


@dataclass
class GuardReport:
    """What the guard did to one sample: rows checked, replaced and why."""

    rows: int = 0               # synthetic rows returned
    replaced: int = 0           # rows redrawn at least once
    exact_copies: int = 0       # first draws equal to a real row
    too_close: int = 0          # first draws closer than the threshold (but not equal)
    redraws: int = 0            # draws made in all to replace them
    threshold: float = 0.0      # the distance below which a row was too close
    quantile: float = DEFAULT_QUANTILE

    def add(self, other: "GuardReport") -> "GuardReport":
        return GuardReport(self.rows + other.rows, self.replaced + other.replaced,
                           self.exact_copies + other.exact_copies, self.too_close + other.too_close,
                           self.redraws + other.redraws, other.threshold, other.quantile)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def total(cls, reports) -> "GuardReport | None":
        """The sum of several batches' reports (dicts from ``to_dict``; None entries skipped), or None."""
        reports = [r for r in reports if r is not None]
        if not reports:
            return None
        out = cls()
        for r in reports:
            out = out.add(cls(**r))
        return out

    def __str__(self) -> str:
        return (f"privacy guard: replaced {self.replaced} of {self.rows} rows ({self.exact_copies} exact copies "
                f"of real rows, {self.too_close} closer than {self.threshold:.4g}, the {self.quantile:g} quantile "
                f"of held-out real rows' distances)")


class PrivacyGuardError(ValueError):
    """The guard could not find rows far enough from the real ones."""


def check_quantile(quantile) -> float:
    """``True`` -> the default quantile; a number in [0, 1) as given."""
    if quantile is True:
        return DEFAULT_QUANTILE
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float, np.floating)) or not 0 <= quantile < 1:
        raise ValueError(
            f"privacy_guard must be False, True (quantile {DEFAULT_QUANTILE}) or a quantile in [0, 1) of "
            f"held-out real rows' distances (0 = replace exact copies only); got {quantile!r}"
        )
    return float(quantile)


class PrivacyGuard:
    """Exact and near copies of real rows; see the module docstring."""

    def __init__(self, specs: list[ColumnSpec]):
        self.specs = list(specs)

    def fit(self, df: pd.DataFrame, held_out: np.ndarray) -> "PrivacyGuard":
        """Learn from every row of ``df``; ``held_out`` indexes the rows not trained on (may be empty)."""
        self.space_ = RowSpace(self.specs).fit(df)
        self.points_ = self.space_.transform(df)
        self.keys_ = np.unique(row_keys(df, self.specs))
        held_out = np.asarray(held_out, dtype=np.int64)
        train = np.setdiff1d(np.arange(len(df)), held_out)
        if len(held_out) and len(train):
            d = self.space_.nearest(self.points_.take(held_out), self.points_.take(train), dtype=np.float32)
            self.held_out_distances_ = np.sort(d)
        else:  # nothing held out: only exact copies can be judged
            self.held_out_distances_ = np.zeros(0)
        return self

    def threshold(self, quantile: float) -> float:
        """The distance below which a synthetic row is too close (0 when nothing was held out)."""
        if quantile <= 0 or not len(self.held_out_distances_):
            return 0.0
        return float(np.quantile(self.held_out_distances_, quantile))

    def check(self, frame: pd.DataFrame, quantile: float) -> tuple[np.ndarray, np.ndarray]:
        """(exact copy, too close) masks over the rows of ``frame``."""
        exact = np.isin(row_keys(frame, self.specs), self.keys_)
        threshold = self.threshold(quantile)
        close = np.zeros(len(frame), dtype=bool)
        if threshold > 0:
            d = self.space_.nearest(self.space_.transform(frame), self.points_, dtype=np.float32)
            close = (d < threshold) & ~exact
        return exact, close

    # -- plain state ---------------------------------------------------------
    def to_state(self) -> dict:
        return {"specs": [s.to_dict() for s in self.specs], "space": self.space_.to_state(),
                "numbers": self.points_.numbers, "codes": self.points_.codes,
                "keys": self.keys_.view(np.int64), "held_out_distances": self.held_out_distances_}

    @classmethod
    def from_state(cls, s: dict) -> "PrivacyGuard":
        obj = cls([ColumnSpec(**d) for d in s["specs"]])
        obj.space_ = RowSpace.from_state(s["space"])
        obj.points_ = RowPoints(np.asarray(s["numbers"]), np.asarray(s["codes"]))
        obj.keys_ = np.asarray(s["keys"]).view(np.uint64)
        obj.held_out_distances_ = np.asarray(s["held_out_distances"])
        return obj
