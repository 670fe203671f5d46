"""DataFrame <-> model arrays: :class:`TableCodec`, one column codec per column.

Composed the way scikit-learn's ``ColumnTransformer`` composes transformers:
each column gets the codec of its kind (:mod:`~tabsyn.tabular.codec.numeric`,
:mod:`~tabsyn.tabular.codec.datetimes`, :mod:`~tabsyn.tabular.codec.categorical`,
:mod:`~tabsyn.tabular.codec.key`), and the table codec lays their outputs side
by side in the two arrays the VAE reads:

- ``x_num`` (rows x numerical columns, float32): each numerical or datetime
  column's standard normals, in column order;
- ``x_cat`` (rows x categorical columns, int64): each categorical column's
  codes, in column order, then a two-level "is missing" flag per numerical or
  datetime column that had missing values, so missingness is learned jointly
  with everything else and regenerated at its real rate.

An ``x_cat`` column that is a function of another in training (Adult's
``education-num`` of ``education``) is written from that column's code on decode
(:mod:`~tabsyn.tabular.codec.dependencies`), so generated rows keep the identity.
A numerical column that often holds exactly another's value (Default's
``PAY_AMT1`` and ``BILL_AMT2``: a bill paid in full) gets a two-level "equals"
column after the "is missing" flags, and decode copies the other column's value
where the model set it (:mod:`~tabsyn.tabular.codec.ties`).

:meth:`TableCodec.decode` rebuilds a DataFrame with the original column labels,
order and dtypes; ID columns get new keys. Draws made while decoding (pooled
categories, free-format keys) are functions of each row's position in the
sample stream and its codes, so a row does not depend on how sampling was
batched. :meth:`TableCodec.encode_known` encodes known cells (conditions, cells
to keep) into the same arrays.

Everything stored is plain data (``to_state`` / ``from_state``): numbers,
strings, lists, dicts and numpy arrays. This package never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tabsyn.table.schema import CATEGORICAL, DATETIME, ID, KINDS, NUMERICAL, ColumnSpec
from tabsyn.tabular.codec.categorical import MAX_CATEGORIES, CategoricalCodec
from tabsyn.tabular.codec.datetimes import DatetimeCodec
from tabsyn.tabular.codec.dependencies import Derived, apply_derived, find_derived
from tabsyn.tabular.codec.key import KeyCodec
from tabsyn.tabular.codec.numeric import NumericCodec
from tabsyn.tabular.codec.ties import Tie, find_ties, tied
from tabsyn.tabular.codec.values import KnownValueError, listed

# The codec of each column kind.
CODECS = {NUMERICAL: NumericCodec, DATETIME: DatetimeCodec, CATEGORICAL: CategoricalCodec, ID: KeyCodec}


@dataclass
class EncodedKnown:
    """Partial rows in model space (see :meth:`TableCodec.encode_known`)."""

    x_num: np.ndarray           # (rows, numerical columns) normals; unknown cells neutral
    x_cat: np.ndarray           # (rows, categorical columns) codes; unknown cells the mode
    num_known: np.ndarray       # which x_num cells are known
    cat_known: np.ndarray       # which x_cat cells are known
    forbid_missing: np.ndarray  # x_cat cells whose "missing" code may not be drawn
    values: pd.DataFrame        # the known values as the generated columns hold them


class TableCodec:
    """A fitted table codec; see the module docstring.

    Parameters
    ----------
    max_categories : int, default=1000
        Most codes one categorical column gets; rarer levels share one code and
        are drawn back from their empirical distribution.
    derive : bool, default=True
        Find the ``x_cat`` columns that are functions of another in training and
        decode them from it (:mod:`~tabsyn.tabular.codec.dependencies`).
    tie : bool, default=True
        Find the numerical columns that often equal another in training, learn
        where they do and copy the value there on decode (:mod:`~tabsyn.tabular.codec.ties`).

    Attributes
    ----------
    specs : list of ColumnSpec
        The columns, in order.
    n_num : int
        Numerical model columns (the width of ``x_num``).
    cat_sizes : list of int
        Levels per ``x_cat`` column, the "is missing" and "equals" flags included.
    derived : list of Derived
        The ``x_cat`` columns decode writes from another's code (:meth:`derived_columns` names them).
    ties : list of Tie
        The numerical columns decode copies from another where their "equals" flag is set
        (:meth:`tied_columns` names them).

    Examples
    --------
    >>> codec = TableCodec()
    >>> x_num, x_cat = codec.fit_encode(df, infer_schema(df))       # doctest: +SKIP
    >>> codec.decode(x_num, x_cat, positions=np.arange(len(df)))     # doctest: +SKIP
    """

    def __init__(self, *, max_categories: int = MAX_CATEGORIES, derive: bool = True, tie: bool = True):
        self.max_categories = max_categories
        self.derive = derive
        self.tie = tie

    # -- fit ---------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, specs: list[ColumnSpec]) -> "TableCodec":
        """Fit one codec per column of ``df`` (``specs``: the columns' kinds, in column order)."""
        if not (isinstance(self.max_categories, int) and self.max_categories >= 2):
            raise ValueError(f"max_categories must be an integer >= 2; got {self.max_categories!r}")
        specs = list(specs)
        if len(specs) != df.shape[1]:
            raise ValueError(f"specs describe {len(specs)} columns, but the table has {df.shape[1]}")
        unknown = [s.name for s in specs if s.kind not in CODECS]
        if unknown:
            raise ValueError(f"columns {listed(unknown)} have a kind with no codec; accepted kinds: {list(KINDS)}")
        self._labels = {"multi": isinstance(df.columns, pd.MultiIndex), "names": list(df.columns.names)}
        codecs = []
        for pos, spec in enumerate(specs):
            if spec.kind == CATEGORICAL:
                codec = CategoricalCodec(spec, max_categories=self.max_categories,
                                         salt=pos * 0x2545F4914F6CDD1D + 1)
            else:
                codec = CODECS[spec.kind](spec)
            codecs.append(codec.fit(df.iloc[:, pos]))
        self._set_codecs(codecs)
        self.ties = []
        self.derived = find_derived(self._codes(df)[0], self.cat_sizes) if self.derive else []
        if self.tie:
            plain = [p for p in self._num if codecs[p].kind == NUMERICAL]
            numbers = [self._numbers(p, df) for p in plain]
            self.ties = find_ties([x for x, _ in numbers], [m for _, m in numbers],
                                  [str(codecs[p].spec.dtype) for p in plain], plain)
        return self

    def _numbers(self, pos: int, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Column ``pos`` of ``df`` as exact integers or floats, and which cells are missing."""
        codec = self._codecs[pos]
        return codec.to_numbers(df.iloc[:, pos], exact=codec.origin_ is not None)

    def _set_codecs(self, codecs: list) -> None:
        """Lay the fitted codecs out in the model arrays."""
        self._codecs = codecs
        self._num = [p for p, c in enumerate(codecs) if c.kind in (NUMERICAL, DATETIME)]
        self._cat = [p for p, c in enumerate(codecs) if c.kind == CATEGORICAL]
        self._keys = [p for p, c in enumerate(codecs) if c.kind == ID]
        flagged = [p for p in self._num if codecs[p].has_missing_]
        self._flags = {p: len(self._cat) + k for k, p in enumerate(flagged)}  # position -> its x_cat column
        self._where = {c.spec.name: p for p, c in enumerate(codecs)}

    def _fitted(self) -> list:
        if not hasattr(self, "_codecs"):
            raise AttributeError("This TableCodec is not fitted yet. Call 'fit' with a DataFrame and its "
                                 "column specs first.")
        return self._codecs

    @property
    def specs(self) -> list[ColumnSpec]:
        return [c.spec for c in self._fitted()]

    @property
    def n_num(self) -> int:
        self._fitted()
        return len(self._num)

    @property
    def cat_sizes(self) -> list[int]:
        codecs = self._fitted()
        return [codecs[p].n_codes for p in self._cat] + [2] * (len(self._flags) + len(self.ties))

    # -- encode, decode -------------------------------------------------------------
    def encode(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the fitted table's columns -> ``(x_num float32, x_cat int64)``.

        Raises ValueError listing every column with values the codec cannot
        take (categories, or missing values, never seen in training).
        """
        codecs = self._fitted()
        labels = [c.spec.name for c in codecs]
        if list(df.columns) != labels:
            raise ValueError(f"encode takes the fitted table's columns {listed(labels)}, in order; "
                             f"got {listed(df.columns)}")
        x_cat, num = self._codes(df, numbers=True)
        return (np.stack(num, axis=1).astype(np.float32) if num else np.zeros((len(df), 0), np.float32)), x_cat

    def _codes(self, df: pd.DataFrame, *, numbers: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """``x_cat`` of ``df``, and (with ``numbers``) each numerical column's normals; ValueError listing every
        column with values the codecs cannot take."""
        codecs = self._codecs
        num, cat, flags, problems = [], [], [], []
        for pos in self._num:
            if not numbers and pos not in self._flags:
                continue
            try:
                z, missing = codecs[pos].encode(df.iloc[:, pos])
            except ValueError as err:
                problems.append(str(err))
                continue
            num.append(z)
            if pos in self._flags:
                flags.append(missing.astype(np.int64))
        for pos in self._cat:
            try:
                cat.append(codecs[pos].encode(df.iloc[:, pos]))
            except ValueError as err:
                problems.append(str(err))
        if problems:
            raise ValueError(_joined(problems))
        for tie in self.ties:
            equal = tied(*self._numbers(tie.target, df), *self._numbers(tie.source, df), tie.mode)
            flags.append(equal.astype(np.int64))
        x_cat = np.stack(cat + flags, axis=1).astype(np.int64) if cat + flags else np.zeros((len(df), 0), np.int64)
        return x_cat, num

    def fit_encode(self, df: pd.DataFrame, specs: list[ColumnSpec]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`fit`, then :meth:`encode` the same table."""
        return self.fit(df, specs).encode(df)

    def decode(self, x_num: np.ndarray, x_cat: np.ndarray, *, positions: np.ndarray, known=None) -> pd.DataFrame:
        """Model arrays -> a DataFrame with the fitted table's labels, order and dtypes.

        ``positions`` are the rows' positions in the sample stream: new keys and
        every draw made here are functions of them, so batching never changes a row.
        ``known`` (a :class:`~tabsyn.tabular.known.KnownCells`: its ``restore(frame)``
        and ``given(label)``) puts the known cells back before tied values are copied,
        so a tie copies a known source's given value and never overwrites a known cell.
        """
        codecs = self._fitted()
        positions = np.asarray(positions, dtype=np.int64)
        x_num, x_cat, n = np.asarray(x_num), np.asarray(x_cat), len(positions)
        if x_num.shape != (n, self.n_num) or x_cat.shape != (n, len(self.cat_sizes)):
            raise ValueError(f"decode takes x_num of shape ({n}, {self.n_num}) and x_cat of shape "
                             f"({n}, {len(self.cat_sizes)}) for {n} positions; got {x_num.shape} and {x_cat.shape}")
        x_cat = apply_derived(x_cat, self.derived)
        columns = {}
        for j, pos in enumerate(self._num):
            missing = x_cat[:, self._flags[pos]] == 1 if pos in self._flags else np.zeros(n, bool)
            columns[pos] = codecs[pos].decode(x_num[:, j], missing)
        for j, pos in enumerate(self._cat):
            columns[pos] = codecs[pos].decode(x_cat[:, j], positions=positions, row_codes=x_cat)
        for pos in self._keys:
            columns[pos] = codecs[pos].decode(positions)
        frame = self._frame([columns[p] for p in range(len(codecs))], [c.spec.name for c in codecs])
        if known is not None:
            frame = known.restore(frame)
        first = len(self._cat) + len(self._flags)
        for k, tie in enumerate(self.ties):
            target, source = frame.iloc[:, tie.target], frame.iloc[:, tie.source]
            low, high = codecs[tie.target].to_values(np.array(codecs[tie.target].model_range()), np.zeros(2, bool))
            copy = ((x_cat[:, first + k] == 1) & source.notna().to_numpy()
                    & (source >= low).to_numpy(dtype=bool, na_value=False)
                    & (source <= high).to_numpy(dtype=bool, na_value=False))
            if known is not None:
                copy &= ~known.given(frame.columns[tie.target])
            if copy.any():
                frame.isetitem(tie.target, target.mask(copy, source).astype(target.dtype))
        return frame

    def _frame(self, columns: list[pd.Series], labels: list) -> pd.DataFrame:
        out = pd.DataFrame({i: col.reset_index(drop=True) for i, col in enumerate(columns)})
        if self._labels["multi"]:
            out.columns = pd.MultiIndex.from_tuples(labels, names=self._labels["names"])
        else:
            out.columns = pd.Index(labels, tupleize_cols=False, name=self._labels["names"][0])
        return out

    # -- what the model needs besides ------------------------------------------------
    def missing_codes(self) -> list[int | None]:
        """Per ``x_cat`` column, the code that means "missing" (None when it has none)."""
        codecs = self._fitted()
        return [codecs[p].missing_code for p in self._cat] + [1] * len(self._flags) + [None] * len(self.ties)

    def derived_columns(self) -> list[tuple[object, object]]:
        """(column, the column it is decoded from) for each derived column, by label; a numerical column's
        "is missing" flag is named ``(label, "is missing")``."""
        self._fitted()
        names = [self._codecs[p].spec.name for p in self._cat]
        names += [(self._codecs[p].spec.name, "is missing") for p in self._flags]
        return [(names[d.target], names[d.source]) for d in self.derived]

    def tied_columns(self) -> list[tuple[object, object]]:
        """(column, the column whose value it takes where its "equals" flag is set) for each tie, by label."""
        codecs = self._fitted()
        return [(codecs[t.target].spec.name, codecs[t.source].spec.name) for t in self.ties]

    def average_draws(self, x_num: np.ndarray) -> np.ndarray:
        """(draws, rows, numerical columns) normals -> per row, the normal of the draws' mean value."""
        codecs = self._fitted()
        out = np.zeros(x_num.shape[1:], np.float64)
        for j, pos in enumerate(self._num):
            out[:, j] = codecs[pos].average(x_num[:, :, j])
        return out

    def categories(self, column: object) -> list:
        """The categories seen in training of the categorical column labelled ``column`` (pooled ones last)."""
        codecs = self._fitted()
        pos = self._where.get(column)
        if pos is None or codecs[pos].kind != CATEGORICAL:
            what = "no column named" if pos is None else f"{codecs[pos].kind}, not categorical:"
            raise ValueError(f"categories: {what} {column!r}; the categorical columns are "
                             f"{listed(codecs[p].spec.name for p in self._cat)}")
        return codecs[pos].seen_categories()

    # -- known cells -----------------------------------------------------------------
    def encode_known(self, frame: pd.DataFrame, cells: np.ndarray, *, present: bool) -> EncodedKnown:
        """Encode the known cells of partial rows into the model's arrays.

        ``frame`` holds some of the table's columns (by label); ``cells`` (its
        shape) says which cells are known. A known missing value (None, NaN,
        NaT) is the fact "missing". Unknown cells get a neutral value (the
        median, the most frequent category). With ``present``, unknown cells are
        to be filled with a value, never "missing": the "is missing" flag of
        their numerical column is set known, and ``forbid_missing`` marks their
        categorical codes whose "missing" level may not be drawn.

        Raises :class:`KnownValueError` listing every value never seen in
        training (a category) or outside the seen range (a number or date), and
        every ID column (keys are generated, not conditioned on).
        """
        codecs = self._fitted()
        cells = np.asarray(cells, bool)
        if cells.shape != frame.shape:
            raise ValueError(f"cells must have the frame's shape {frame.shape}; got {cells.shape}")
        n = len(frame)
        x_num = np.zeros((n, len(self._num)), np.float32)
        x_cat = np.zeros((n, len(self.cat_sizes)), np.int64)
        num_known, cat_known = np.zeros(x_num.shape, bool), np.zeros(x_cat.shape, bool)
        for j, pos in enumerate(self._cat):
            x_cat[:, j] = codecs[pos].mode_
        values, problems = {}, []
        for k, label in enumerate(frame.columns):
            pos, rows = self._where.get(label), cells[:, k]
            if pos is None:
                problems.append(f"no column named {label!r}; the columns are {listed(self._where)}")
                continue
            codec, col = codecs[pos], frame.iloc[:, k]
            if codec.kind == ID:
                problems.append(f"column {label!r} holds IDs, which are generated anew for every row; "
                                f"it cannot be given")
                continue
            if codec.kind == CATEGORICAL:
                j = self._cat.index(pos)
                got = codec.encode_known(col, rows)
                x_cat[rows, j], cat_known[rows, j] = got.codes[rows], True
            else:
                j = self._num.index(pos)
                got = codec.encode_known(col, rows)
                x_num[rows, j], num_known[rows, j] = got.z[rows], True
                if pos in self._flags:
                    x_cat[rows, self._flags[pos]], cat_known[rows, self._flags[pos]] = got.missing[rows], True
            if got.problem:
                problems.append(got.problem)
            values[k] = got.values
        if problems:
            raise KnownValueError(_joined(problems))
        forbid = np.zeros(x_cat.shape, bool)
        if present:
            for pos, flag in self._flags.items():
                unknown = ~num_known[:, self._num.index(pos)]
                x_cat[unknown, flag], cat_known[unknown, flag] = 0, True
            for j, pos in enumerate(self._cat):
                forbid[:, j] = codecs[pos].has_missing_ & ~cat_known[:, j]
        known = pd.DataFrame(values)
        known.columns = pd.Index(list(frame.columns), tupleize_cols=False, dtype=object)
        return EncodedKnown(x_num, x_cat, num_known, cat_known, forbid, known)

    # -- plain state -----------------------------------------------------------------
    def to_state(self) -> dict:
        codecs = self._fitted()
        return {"max_categories": self.max_categories, "derive": self.derive, "tie": self.tie,
                "columns_index": {"multi": self._labels["multi"], "names": list(self._labels["names"])},
                "columns": [c.to_state() for c in codecs],
                "derived": [{"target": d.target, "source": d.source, "lookup": d.lookup} for d in self.derived],
                "ties": [{"target": t.target, "source": t.source, "mode": t.mode} for t in self.ties]}

    @classmethod
    def from_state(cls, state: dict) -> "TableCodec":
        obj = cls(max_categories=state["max_categories"], derive=state.get("derive", False),
                  tie=state.get("tie", False))
        index = state["columns_index"]
        obj._labels = {"multi": index["multi"], "names": list(index["names"])}
        obj._set_codecs([CODECS[c["spec"]["kind"]].from_state(c) for c in state["columns"]])
        # Files from before derived columns decode as they did.
        obj.derived = [Derived(int(d["target"]), int(d["source"]), np.asarray(d["lookup"], dtype=np.int64))
                       for d in state.get("derived", [])]
        # Files from before ties have none.
        obj.ties = [Tie(int(t["target"]), int(t["source"]), t["mode"]) for t in state.get("ties", [])]
        return obj


def _joined(problems: list[str]) -> str:
    """One problem as it is; several as a list under a count."""
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} columns have values the model cannot take:\n- " + "\n- ".join(problems)
