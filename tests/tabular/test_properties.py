"""Property-based: random messy tables either synthesize faithfully or fail with a SchemaError.

Each generated table mixes every column kind tabsyn meets in the wild (floats of
any magnitude, integers, nullable dtypes, booleans, strings, categories, naive
and tz-aware datetimes, dates, keys, constants) with missing values, under labels
that are not always strings. Whatever comes back must have the same column
labels, order and dtypes, missing values only where the input had some, only
seen categories, and numbers and datetimes within the seen range.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tabsyn import TabSynthesizer
from tabsyn.table.schema import SchemaError, infer_schema
from tabsyn.tabular.codec import TableCodec

LABELS = ["a", "with space", "é 名", "3.5", 0, 7, 2.5, ("t", 1), ("t", 2), "x-y", "ID"]


def _mask(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def _column(kind: str, n: int, rng: np.random.Generator, missing: float) -> pd.Series:
    """One column of the given kind, ``missing`` of it (roughly) missing where the dtype allows."""
    m = _mask(rng, n, missing)
    if kind == "float":
        scale = float(rng.choice([1e-9, 1.0, 1e6, 1e12, 1e300]))
        x = rng.standard_t(2, n) * scale
        x[_mask(rng, n, 0.3)] = 0.0  # a mass of exact zeros
        return pd.Series(np.where(m, np.nan, x))
    if kind == "float32":
        return pd.Series(np.where(m, np.nan, rng.normal(size=n).round(2)).astype(np.float32))
    if kind == "Float64":
        return pd.Series(pd.array(np.where(m, None, rng.lognormal(size=n).round(3)), dtype="Float64"))
    if kind == "int_many":
        return pd.Series(rng.integers(-(10**15), 10**15, n) * int(rng.choice([1, 1000])))
    if kind == "int_few":
        return pd.Series(rng.choice([1, 2, 5, 10], n).astype(str(rng.choice(["int8", "int64", "uint16"]))))
    if kind == "Int64":
        return pd.Series(pd.array([None if mi else int(v) for mi, v in zip(m, rng.integers(0, 500, n))], dtype="Int64"))
    if kind == "bool":
        return pd.Series(rng.random(n) < 0.3)
    if kind == "boolean":
        return pd.Series(pd.array([None if mi else bool(v) for mi, v in zip(m, rng.random(n) < 0.5)], dtype="boolean"))
    if kind == "object":
        return pd.Series([None if mi else f"level {v}" for mi, v in zip(m, rng.zipf(1.5, n) % 12)], dtype=object)
    if kind == "string":
        return pd.Series([None if mi else str(v) for mi, v in zip(m, rng.integers(0, 4, n))], dtype="string")
    if kind == "category":
        cats = ["lo", "mid", "hi", "never seen"]
        return pd.Series(pd.Categorical([None if mi else cats[v] for mi, v in zip(m, rng.integers(0, 3, n))],
                                        categories=cats, ordered=bool(rng.random() < 0.5)))
    if kind == "datetime":
        unit, span = [("D", 10**4), ("h", 10**5), ("s", 10**6), ("ms", 10**6)][rng.integers(0, 4)]
        stamps = pd.Timestamp("2001-02-03") + pd.to_timedelta(rng.integers(0, span, n), unit=unit)
        return pd.Series(stamps).mask(m)
    if kind == "datetime_tz":
        stamps = pd.Timestamp("2020-03-29", tz="Europe/Berlin") + pd.to_timedelta(rng.integers(0, 10**5, n), unit="min")
        return pd.Series(stamps).mask(m)
    if kind == "date":
        return pd.Series([None if mi else dt.date(1999, 12, 1) + dt.timedelta(days=int(v))
                          for mi, v in zip(m, rng.integers(0, 90, n))], dtype=object)
    if kind == "key":
        return pd.Series([f"K-{i:05d}" for i in rng.permutation(n) + 10])
    if kind == "int_key":
        return pd.Series(rng.permutation(n) + 1000)
    if kind == "weird_strings":  # strings that look missing, empty, numeric or boolean are still strings
        words = np.array(["", " ", "nan", "None", "NULL", "0", "1.5", "True", "é 名", "a\tb"], dtype=object)
        return pd.Series([None if mi else words[v] for mi, v in zip(m, rng.integers(0, 10, n))], dtype=object)
    if kind == "object_bool":
        return pd.Series([None if mi else bool(v) for mi, v in zip(m, rng.random(n) < 0.5)], dtype=object)
    if kind == "object_int":
        return pd.Series([None if mi else int(v) for mi, v in zip(m, rng.integers(-3, 3, n))], dtype=object)
    if kind == "wide_float":  # tiny and huge magnitudes in one column, signed zeros, whole numbers
        x = rng.choice([-0.0, 0.0, 1e-300, -2.5e-300, 1.0, 3.0, 1e300, -1.5e308, 1.7e308], n)
        return pd.Series(np.where(m, np.nan, x))
    if kind == "whole_float":
        x = np.where(m, np.nan, rng.integers(0, 40, n).astype(float))
        return pd.Series(x.astype(str(rng.choice(["float16", "float64"]))))
    if kind == "old_dates":  # outside the nanosecond range, in seconds
        days = rng.integers(-700_000, 2_900_000, n)
        ticks = (days.astype("int64") * 86_400).astype("datetime64[s]")
        return pd.Series(np.where(m, np.datetime64("NaT"), ticks)).astype("datetime64[s]")
    if kind == "constant":
        return pd.Series([["same", 4.5, 3, True][rng.integers(0, 4)]] * n)
    raise AssertionError(kind)


KINDS = ["float", "float32", "Float64", "int_many", "int_few", "Int64", "bool", "boolean", "object",
         "string", "category", "datetime", "datetime_tz", "date", "key", "int_key", "constant",
         "weird_strings", "object_bool", "object_int", "wide_float", "whole_float", "old_dates"]


@st.composite
def messy_tables(draw) -> pd.DataFrame:
    n = draw(st.one_of(st.integers(2, 5), st.integers(20, 80)))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=6))
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=len(kinds), max_size=len(kinds), unique=True))
    missing = draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 0.99]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    columns = [_column(k, n, rng, missing).reset_index(drop=True) for k in kinds]
    df = pd.concat(columns, axis=1)
    df.columns = pd.Index(labels, tupleize_cols=False)
    return df


def check_faithful(df: pd.DataFrame, out: pd.DataFrame, specs) -> None:
    """The contract a synthetic (or inverted) table keeps with its training table."""
    pd.testing.assert_index_equal(out.columns, df.columns)
    assert list(out.dtypes) == list(df.dtypes)
    for i, spec in enumerate(specs):
        real, fake = df.iloc[:, i], out.iloc[:, i]
        if real.notna().all():
            assert fake.notna().all(), spec
        present, seen = fake.dropna(), real.dropna()
        if spec.kind == "id":  # new keys, never a training one
            assert fake.is_unique and set(fake).isdisjoint(seen), spec
        elif spec.kind == "categorical":
            assert set(present) <= set(seen), spec
        else:  # numbers and datetimes: finite and within the seen range
            if spec.kind == "numerical":
                assert np.isfinite(present.to_numpy(dtype=np.float64)).all(), spec
            if len(present):
                assert present.min() >= seen.min() and present.max() <= seen.max(), spec


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=messy_tables(), seed=st.integers(0, 2**16))
def test_codec_inverts_any_latent_into_a_faithful_table(df, seed):
    try:
        specs = infer_schema(df)
    except SchemaError as err:
        event("SchemaError: " + ("no values" if "has no values" in str(err) else str(err)[:80]))
        return
    t = TableCodec(max_categories=4)
    x_num, x_cat = t.fit_encode(df, specs)
    check_faithful(df, t.decode(x_num, x_cat, positions=np.arange(len(df))), specs)
    # Any latent at all, far tails included, and any valid code.
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=rng.choice([1.0, 10.0]), size=(50, x_num.shape[1]))
    codes = np.stack([rng.integers(0, k, 50) for k in t.cat_sizes], axis=1) if t.cat_sizes else np.zeros((50, 0), int)
    check_faithful(df, t.decode(z, codes, positions=np.arange(50) + int(seed)), specs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=messy_tables())
def test_synthesizer_fits_any_messy_table_or_says_why(df, tiny_settings):
    try:
        synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    except SchemaError as err:
        event("SchemaError: " + ("no values" if "has no values" in str(err) else str(err)[:80]))
        assert str(err).startswith(("column ", "every column", "the table")) or "cannot be modelled" in str(err)
        return
    check_faithful(df, synth.sample(40), synth.columns_)


def test_the_strategy_covers_every_kind():
    rng = np.random.default_rng(0)
    for kind in KINDS:
        col = _column(kind, 30, rng, 0.1)
        assert len(col) == 30, kind
    with pytest.raises(AssertionError):
        _column("nonsense", 3, rng, 0.0)
