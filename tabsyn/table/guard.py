"""The privacy guard: flag synthetic rows that copy, or sit too close to, a real row.

``PrivacyGuard.fit`` keeps, from the table given to ``TabSynthesizer.fit``:

- a 64-bit hash of every row (over the non-ID columns), to find exact copies;
- every row in the distance space of :class:`tabsyn.table.rows.RowSpace`
  (the one the privacy evaluation measures in), to find near copies;
- the distance from each *held-out* row (the validation rows the models never
  trained on) to its closest training row: how close fresh real rows come to
  the training rows. A synthetic row that is not an exact copy is "too close"
  when it is closer to a real row than the ``quantile`` of these distances
  over the held-out rows that are not exact copies themselves (an exact copy
  is judged by the first rule, and fresh real rows that repeat a training row,
  common in narrow tables, would otherwise set the threshold to 0).

``check(frame, quantile)`` says which rows of a synthetic frame to replace
(exact copies, too close); the sampler redraws those rows, then
``settle(report, frame, rows_left, strict=...)`` finishes the report.

**Fallbacks.** When the rule asked for cannot apply, the guard does what can
still be guaranteed, says so in ``GuardReport.fallback`` (in
``attrs["privacy_guard"]`` and on the command line), and fails only when asked
to be strict (``strict=True``: :class:`PrivacyGuardError`):

- *exact copies only*, when fewer than ``MIN_HELD_OUT`` held-out rows are not
  copies of a training row (or nothing was held out): there is no distance to
  call "too close" by, so only exact copies are replaced;
- *nothing*, when every row the model can write is a training row (a table of
  few distinct rows, e.g. one column of three categories, where every category
  combination, and every integer in range, is in the training table): no draw
  can avoid a copy, so none is replaced and every copy returned is counted;
- *rows kept as drawn*, when rows are still copies or too close after the
  sampler's last redraw: they are kept and counted (``kept_copies``,
  ``kept_close``); the other rows keep the guarantee.

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
from tabsyn.table.schema import CATEGORICAL, ID, NUMERICAL, ColumnSpec

DEFAULT_QUANTILE = 0.01
MIN_HELD_OUT = 20  # held-out rows that are not copies needed to set a "too close" distance

EXACT_ONLY, NOTHING = "exact copies only", "nothing"  # what a fallback still guarantees


@dataclass
class GuardReport:
    """What the guard did to one sample: rows checked, replaced and why, and any fallback."""

    rows: int = 0               # synthetic rows returned
    replaced: int = 0           # rows redrawn at least once
    exact_copies: int = 0       # first draws equal to a real row (and replaced)
    too_close: int = 0          # first draws closer than the threshold (but not equal)
    redraws: int = 0            # draws made in all to replace them
    threshold: float = 0.0      # the distance below which a row was too close (0: exact copies only)
    quantile: float = DEFAULT_QUANTILE
    kept_copies: int = 0        # rows returned that are exact copies of a real row (fallback only)
    kept_close: int = 0         # rows returned closer than the threshold (fallback only)
    fallback: str | None = None  # why the guard did less than asked, and what it still guarantees

    def add(self, other: "GuardReport") -> "GuardReport":
        fallbacks = [f for f in (self.fallback, other.fallback) if f]
        return GuardReport(
            rows=self.rows + other.rows, replaced=self.replaced + other.replaced,
            exact_copies=self.exact_copies + other.exact_copies, too_close=self.too_close + other.too_close,
            redraws=self.redraws + other.redraws, threshold=other.threshold, quantile=other.quantile,
            kept_copies=self.kept_copies + other.kept_copies, kept_close=self.kept_close + other.kept_close,
            fallback="; ".join(dict.fromkeys(fallbacks)) or None)

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
        text = (f"privacy guard: replaced {self.replaced} of {self.rows} rows ({self.exact_copies} exact copies "
                f"of real rows, {self.too_close} closer than {self.threshold:.4g}, the {self.quantile:g} quantile "
                f"of held-out real rows' distances)")
        if self.fallback:
            text += f"; fallback: {self.fallback}"
        if self.kept_copies or self.kept_close:
            text += (f"; kept {self.kept_copies} exact copies and {self.kept_close} rows closer than "
                     f"{self.threshold:.4g} as drawn")
        return text


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
    """Exact and near copies of real rows; see the module docstring.

    Attributes
    ----------
    held_out_distances_ : ndarray
        Each held-out row's distance to its closest training row, sorted (empty: nothing held out).
    possible_rows_ : float
        How many different rows the model can write (inf unless every column takes finitely
        many values: categories, integers in their seen range).
    """

    def __init__(self, specs: list[ColumnSpec]):
        self.specs = list(specs)

    def fit(self, df: pd.DataFrame, held_out: np.ndarray) -> "PrivacyGuard":
        """Learn from every row of ``df``; ``held_out`` indexes the rows not trained on (may be empty)."""
        self.space_ = RowSpace(self.specs).fit(df)
        self.points_ = self.space_.transform(df)
        self.keys_ = np.unique(row_keys(df, self.specs))
        self.possible_rows_ = possible_rows(df, self.specs)
        held_out = np.asarray(held_out, dtype=np.int64)
        train = np.setdiff1d(np.arange(len(df)), held_out)
        if len(held_out) and len(train):
            d = self.space_.nearest(self.points_.take(held_out), self.points_.take(train))
            self.held_out_distances_ = np.sort(d)
        else:  # nothing held out: only exact copies can be judged
            self.held_out_distances_ = np.zeros(0)
        return self

    # -- what the rule can do ------------------------------------------------
    def _fresh_distances(self) -> np.ndarray:
        """Held-out rows' distances, those of rows that copy a training row left out."""
        return self.held_out_distances_[self.held_out_distances_ > 0]

    def copies_unavoidable(self) -> bool:
        """Whether every row the model can write is a training row (then no redraw can avoid a copy)."""
        return bool(self.possible_rows_ <= len(self.keys_))

    def threshold(self, quantile: float) -> float:
        """The distance below which a synthetic row is too close: the ``quantile`` of held-out rows'
        distances to the training rows, over the held-out rows that are not copies of one; 0 (exact
        copies only) for ``quantile`` 0 and when fewer than ``MIN_HELD_OUT`` such rows were held out."""
        fresh = self._fresh_distances()
        if quantile <= 0 or len(fresh) < MIN_HELD_OUT or self.copies_unavoidable():
            return 0.0
        return float(np.quantile(fresh, quantile))

    def fallback(self, quantile: float) -> str | None:
        """Why the guard cannot apply the rule asked for and what it does instead; None when it can."""
        if self.copies_unavoidable():
            return (f"{NOTHING}: every row the model can write is one of the {len(self.keys_)} distinct training "
                    f"rows, so no redraw can avoid a copy; rows are returned as drawn")
        if quantile <= 0 or self.threshold(quantile) > 0:
            return None
        if not len(self.held_out_distances_):
            return f"{EXACT_ONLY}: no rows were held out from training, so no distance tells what is too close"
        fresh = len(self._fresh_distances())
        return (f"{EXACT_ONLY}: only {fresh} of {len(self.held_out_distances_)} held-out real rows differ from "
                f"every training row (at least {MIN_HELD_OUT} are needed to set a distance), as fresh real rows "
                f"repeat training rows")

    def check(self, frame: pd.DataFrame, quantile: float) -> tuple[np.ndarray, np.ndarray]:
        """(exact copy, too close) masks over the rows of ``frame``: the rows to replace.

        Under the "nothing" fallback no row is to be replaced (both masks are False).
        """
        close = np.zeros(len(frame), dtype=bool)
        if self.copies_unavoidable():
            return close.copy(), close
        exact = np.isin(row_keys(frame, self.specs), self.keys_)
        threshold = self.threshold(quantile)
        if threshold > 0:
            if getattr(self, "_index", None) is None:  # the training rows' groups, sorted once per guard
                self._index = self.space_.group_index(self.points_)
            close = self.space_.within(self.space_.transform(frame), self.points_, threshold,
                                       index=self._index) & ~exact
        return exact, close

    def settle(self, report: GuardReport, frame: pd.DataFrame, left: np.ndarray, *, strict: bool = False,
               redraws: int | None = None) -> GuardReport:
        """Finish ``report`` once the sampler's redraws are done; returns it.

        ``frame`` is the sample as it will be returned and ``left`` the positions of
        its rows still rejected after the last redraw. The report gets the
        fallback, if any (:meth:`fallback`, or rows kept as drawn), and counts
        the copies and near copies returned. With ``strict``, any fallback
        raises :class:`PrivacyGuardError` instead.
        """
        left = np.asarray(left, dtype=np.int64)
        reasons = [r for r in [self.fallback(report.quantile)] if r]
        after = f"after {redraws} redraws" if redraws is not None else "after the last redraw"
        if self.copies_unavoidable():
            report.kept_copies = int(np.isin(row_keys(frame, self.specs), self.keys_).sum())
        elif len(left):
            exact, close = self.check(frame.iloc[left], report.quantile)
            report.kept_copies, report.kept_close = int(exact.sum()), int(close.sum())
            reasons.append(
                f"rows still copies or closer than {report.threshold:.4g} {after} are kept as drawn (the table "
                f"may hold few distinct rows: {len(self.keys_)} distinct in training); the other rows keep the "
                f"guarantee")
        report.fallback = "; ".join(reasons) or None
        if strict and report.fallback:
            if len(left) and not self.copies_unavoidable():
                raise PrivacyGuardError(
                    f"privacy_guard: {after}, {len(left)} of {len(frame)} rows were still copies of real rows or "
                    f"closer to one than {report.threshold:.4g}; the table may hold few distinct rows "
                    f"({len(self.keys_)} distinct in training). Pass a lower quantile (privacy_guard=0 replaces "
                    f"exact copies only), privacy_guard=False, or leave strict off to keep such rows and have "
                    f"them counted")
            raise PrivacyGuardError(f"privacy_guard (strict) cannot do what was asked: {report.fallback}. Pass "
                                    f"privacy_guard=False, or leave strict off to accept the fallback")
        return report

    # -- plain state ---------------------------------------------------------
    def to_state(self) -> dict:
        return {"specs": [s.to_dict() for s in self.specs], "space": self.space_.to_state(),
                "numbers": self.points_.numbers, "codes": self.points_.codes,
                "keys": self.keys_.view(np.int64), "held_out_distances": self.held_out_distances_,
                "possible_rows": float(self.possible_rows_)}

    @classmethod
    def from_state(cls, s: dict) -> "PrivacyGuard":
        obj = cls([ColumnSpec(**d) for d in s["specs"]])
        obj.space_ = RowSpace.from_state(s["space"])
        obj.points_ = RowPoints(np.asarray(s["numbers"]), np.asarray(s["codes"]))
        obj.keys_ = np.asarray(s["keys"]).view(np.uint64)
        obj.held_out_distances_ = np.asarray(s["held_out_distances"])
        obj.possible_rows_ = float(s.get("possible_rows", np.inf))  # older files: not known
        return obj


def possible_rows(df: pd.DataFrame, specs: list[ColumnSpec]) -> float:
    """How many different rows (over the non-ID columns) a model of ``df`` can write; inf if unbounded.

    A categorical column writes its seen categories, an integer-valued numerical
    column the integers of its seen range, each with "missing" where the column
    had missing values; other columns (fractions, datetimes) are unbounded.
    """
    total = 1.0
    for s in specs:
        if s.kind == ID:
            continue
        col = df[s.name]
        present = col.dropna()
        if s.kind == CATEGORICAL:
            count = float(present.nunique())
        elif s.kind == NUMERICAL and pd.api.types.is_numeric_dtype(col.dtype) and not \
                pd.api.types.is_bool_dtype(col.dtype):
            values = present.to_numpy(dtype=np.float64)
            if not len(values) or not np.all(values == np.round(values)):
                return float("inf")
            with np.errstate(over="ignore"):  # a range past 1.8e308 is as good as infinite
                count = float(values.max() - values.min() + 1)
        else:
            return float("inf")
        total *= count + bool(col.isna().any())
    return total
