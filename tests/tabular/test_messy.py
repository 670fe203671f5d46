"""Messy real tables: every kind below synthesizes faithfully, or fit says what to fix.

One test per kind of table and per kind of bad input (issue 6). Fits use the
tiny training budget: these tests check the contract, not the quality.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import numpy as np
import pandas as pd
import pytest

import tabsyn
from tabsyn import TabSynthesizer
from tabsyn.table.schema import SchemaError

N = 40
RNG = np.random.default_rng(0)


def fit_sample(df: pd.DataFrame, tiny_settings: dict, n: int = 60, **kw) -> tuple[TabSynthesizer, pd.DataFrame]:
    synth = TabSynthesizer(**tiny_settings, random_state=0, **kw).fit(df)
    return synth, synth.sample(n, random_state=1)


def assert_faithful(df: pd.DataFrame, out: pd.DataFrame, specs) -> None:
    """Same labels, order and dtypes; no new missing values; seen categories; seen ranges; new keys."""
    pd.testing.assert_index_equal(out.columns, df.columns)
    assert list(out.dtypes) == list(df.dtypes)
    for i, spec in enumerate(specs):
        real, fake = df.iloc[:, i], out.iloc[:, i]
        assert fake.notna().all() or real.isna().any(), spec
        present, seen = fake.dropna(), real.dropna()
        if spec.kind == "id":
            assert fake.is_unique and set(fake).isdisjoint(seen), spec
        elif spec.kind == "categorical":
            assert set(present) <= set(seen), spec
        elif len(present):
            assert present.min() >= seen.min() and present.max() <= seen.max(), spec


def with_missing(values, rate=0.2, seed=1):
    s = pd.Series(values)
    return s.mask(np.random.default_rng(seed).random(len(s)) < rate)


# -- tables that must synthesize ----------------------------------------------------

TABLES = {
    "missing-in-every-kind": lambda: pd.DataFrame({
        "num": with_missing(RNG.normal(size=N)),
        "cat": with_missing(RNG.choice(["a", "b", "c"], N)).astype(object),
        "flag": with_missing(RNG.random(N) < 0.5).astype("boolean"),
        "when": with_missing(pd.date_range("2020-01-01", periods=N, freq="D")),
    }),
    "99%-missing": lambda: pd.DataFrame({
        "rare": [2.5] + [np.nan] * 199, "cat": ["x"] + [None] * 199, "y": np.arange(200) % 3,
    }),
    "nullable-dtypes": lambda: pd.DataFrame({
        "i": pd.array([1, None, 3, 400] * 10, dtype="Int64"),
        "b": pd.array([True, None, False, True] * 10, dtype="boolean"),
        "s": pd.array(["a", None, "b", "c"] * 10, dtype="string"),
        "f": pd.array([1.5, None, 2.25, 1e6] * 10, dtype="Float64"),
    }),
    "datetimes-naive-aware-dates": lambda: pd.DataFrame({
        "naive": pd.date_range("2021-03-01 08:00", periods=N, freq="37min"),
        "aware": pd.date_range("2021-03-27", periods=N, freq="h", tz="Europe/Berlin"),  # crosses DST
        "date": [dt.date(2020, 2, 1) + dt.timedelta(days=int(d)) for d in RNG.integers(0, 60, N)],
        "seconds": pd.Series(pd.date_range("1700-01-01", periods=N, freq="30D").astype("datetime64[s]")),
    }),
    "all-numerical": lambda: pd.DataFrame({"a": RNG.normal(size=N), "b": RNG.exponential(size=N) * 1e4}),
    "all-categorical": lambda: pd.DataFrame({"a": RNG.choice(list("xyz"), N), "b": RNG.random(N) < 0.3}),
    "single-numerical-column": lambda: pd.DataFrame({"only": RNG.normal(size=N)}),
    "single-categorical-column": lambda: pd.DataFrame({"only": RNG.choice(["p", "q"], N)}),
    "30-rows": lambda: pd.DataFrame({"x": RNG.normal(size=30), "c": RNG.choice(["a", "b"], 30)}),
    "2-rows": lambda: pd.DataFrame({"x": [1.0, 2.5], "c": ["a", "b"]}),
    "3-rows": lambda: pd.DataFrame({"x": [1, 2, 3], "c": ["a", "b", "a"]}),
    "5-rows": lambda: pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4, 0.5]}),
    "constant-columns": lambda: pd.DataFrame({
        "num": [3.5] * N, "cat": ["same"] * N, "int": [7] * N, "y": RNG.normal(size=N),
    }),
    "few-integer-levels": lambda: pd.DataFrame({
        "stars": RNG.choice([1, 2, 3, 4, 5], N).astype("int8"), "y": RNG.normal(size=N),
    }),
    "extreme-magnitudes": lambda: pd.DataFrame({
        "heavy": np.r_[np.zeros(30), 1e12, 5e11, -1e15, 3.0, 7.0, 1e-9, 2e-9, 4e-9, 8e-9, 1.0],
        "tiny": RNG.uniform(1e-9, 5e-9, N),
        "edge": np.r_[[1.7e308, -1.7e308, 5e-324], np.zeros(N - 3)],
        "int64": np.r_[[2**63 - 1, -(2**63)], RNG.integers(0, 100, N - 2)],
    }),
    "long-tail-category": lambda: pd.DataFrame({
        "tail": [f"L{v}" for v in RNG.zipf(1.2, 3000) % 20000], "y": RNG.normal(size=3000),
    }),
    "id-columns": lambda: pd.DataFrame({
        "cust": [f"CUST-{i:05d}" for i in RNG.permutation(N)],
        "row": np.arange(1000, 1000 + N),
        "uuid": [str(uuid.UUID(bytes=RNG.bytes(16), version=4)) for _ in range(N)],
        "y": RNG.normal(size=N),
    }),
    "odd-labels": lambda: pd.DataFrame({
        0: RNG.normal(size=N), ("t", 1): RNG.choice(list("ab"), N), "with space": RNG.integers(0, 3, N),
        "é 名": RNG.normal(size=N), "3.5": RNG.choice(["u", "v"], N), 2.5: RNG.random(N) < 0.5,
    }),
    "multiindex-labels": lambda: pd.DataFrame(
        RNG.normal(size=(N, 3)), columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["g", "k"])),
    "categorical-dtypes": lambda: pd.DataFrame({
        "ordered": pd.Categorical(RNG.choice(["lo", "hi"], N), categories=["lo", "mid", "hi"], ordered=True),
        "bins": pd.cut(RNG.normal(size=N), 4),
        "days": pd.Categorical(
            pd.Series(pd.date_range("2020", periods=3, tz="UTC")).sample(N, replace=True, random_state=0)),
    }),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_messy_table_synthesizes_faithfully(name, tiny_settings):
    df = TABLES[name]()
    synth, out = fit_sample(df, tiny_settings)
    assert_faithful(df, out, synth.columns_)


def test_date_only_columns_come_back_as_dates(tiny_settings):
    df = TABLES["datetimes-naive-aware-dates"]()
    synth, out = fit_sample(df, tiny_settings)
    assert [c.kind for c in synth.columns_] == ["datetime"] * 4
    assert all(type(v) is dt.date for v in out["date"])
    assert str(out["aware"].dt.tz) == "Europe/Berlin" and out["seconds"].dtype == "datetime64[s]"
    assert (out["naive"].dt.second == 0).all()  # regenerated on the data's own grid (minutes)


def test_ninety_nine_percent_missing_stays_mostly_missing(tiny_settings):
    df = TABLES["99%-missing"]()
    _, out = fit_sample(df, tiny_settings, n=200)
    assert out["rare"].isna().mean() > 0.8 and set(out["rare"].dropna()) <= {2.5}


def test_integer_levels_stay_integers_and_categories(tiny_settings):
    df = TABLES["few-integer-levels"]()
    synth, out = fit_sample(df, tiny_settings)
    assert synth.columns_[0].kind == "categorical" and out["stars"].dtype == np.int8
    assert set(out["stars"]) <= {1, 2, 3, 4, 5}


def test_extreme_values_come_back_finite_and_in_range(tiny_settings):
    df = TABLES["extreme-magnitudes"]()
    _, out = fit_sample(df, tiny_settings, n=300)
    assert np.isfinite(out[["heavy", "tiny", "edge"]].to_numpy()).all()
    assert (out["tiny"] > 0).all()  # never rounded to zero
    assert out["int64"].dtype == np.int64 and out["int64"].between(-(2**63), 2**63 - 1).all()


def test_a_long_tail_trains_in_bounded_width_and_keeps_its_levels(tiny_settings):
    df = TABLES["long-tail-category"]()
    synth, out = fit_sample(df, tiny_settings, n=500)
    assert df["tail"].nunique() > 1000
    assert synth.model_.codec.cat_sizes == [1000]  # 999 levels + the pooled tail
    assert set(out["tail"]) <= set(df["tail"])


def test_keys_are_new_unique_and_in_the_training_format(tiny_settings):
    df = TABLES["id-columns"]()
    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    out = pd.concat([synth.sample(70), synth.sample(70)], ignore_index=True)
    assert [c.kind for c in synth.columns_] == ["id", "id", "id", "numerical"]
    for col in ["cust", "row", "uuid"]:
        assert out[col].is_unique and set(out[col]).isdisjoint(df[col]), col
    assert out["cust"].str.fullmatch(r"CUST-\d{5}").all() and out["row"].dtype == np.int64
    assert out["uuid"].str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}").all()


def test_rows_do_not_depend_on_batch_size_even_with_drawn_keys_and_levels(tiny_settings):
    df = pd.concat([TABLES["long-tail-category"]().head(N), TABLES["id-columns"]()[["uuid"]]], axis=1)
    with pytest.warns(UserWarning, match="column 'tail' is treated as identifying text"):  # 27 of 40 different
        synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    assert [c.kind for c in synth.columns_] == ["id", "numerical", "id"]  # drawn text, numbers, drawn keys
    pd.testing.assert_frame_equal(synth.sample(50, random_state=4), synth.sample(50, random_state=4, batch_size=7))


def test_messy_model_files_load_with_the_safe_loader(tiny_settings, tmp_path):
    df = pd.concat([TABLES["categorical-dtypes"](), TABLES["datetimes-naive-aware-dates"](),
                    TABLES["id-columns"]()[["uuid"]]], axis=1)
    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    synth.save(tmp_path / "messy.tabsyn")
    loaded = tabsyn.load(tmp_path / "messy.tabsyn")
    pd.testing.assert_frame_equal(loaded.sample(30, random_state=2), synth.sample(30, random_state=2))


# -- bad input: a clear error at fit, naming the column, the value and the fix -------------

BAD = [
    (RNG.normal(size=(10, 2)), TypeError,
     r"expected a pandas DataFrame; got ndarray. This array \(shape \(10, 2\)\) has no column names: "
     r"wrap it with pd.DataFrame\(X, columns=\[...\]\)"),
    (pd.Series([1.0, 2.0], name="x"), TypeError,
     r"got Series. Turn a Series into a one-column table with series.to_frame\(\)"),
    ([[1, 2], [3, 4]], TypeError, r"got list. Build one with pd.DataFrame\(...\)"),
    (pd.DataFrame(), SchemaError, r"the table has no columns \(shape \(0, 0\)\)"),
    (pd.DataFrame({"a": pd.Series([], dtype=float)}), SchemaError,
     "the table has 0 rows; tabsyn needs at least 2 rows"),
    (pd.DataFrame({"a": [1.0]}), SchemaError, "the table has 1 row; tabsyn needs at least 2 rows"),
    (pd.DataFrame([[1, 2, 3]] * 3, columns=["a", "b", "a"]), SchemaError,
     r"duplicate column names \['a'\]; every column needs its own name: rename them"),
    (pd.DataFrame({"m": [1, "a", 2.5, None]}), SchemaError,
     r"column 'm' mixes Python types \['float', 'int', 'str'\] \(e.g. 1 \(int\) at row 0, 'a' \(str\) at row 1, "
     r"2.5 \(float\) at row 2\); tabsyn needs one type per column .* df\['m'\].astype\(str\)"),
    (pd.DataFrame({"e": [np.nan] * 4, "ok": [1.0, 2, 3, 4]}), SchemaError,
     r"column 'e' has no values \(all 4 are missing\); drop it before fit, e.g. df = df.drop\(columns=\['e'\]\)"),
    (pd.DataFrame({"f": [1.0, -np.inf, 2.0]}), SchemaError,
     r"column 'f' holds 1 infinite value\(s\) \(e.g. -inf at row 1\); replace them with NaN"),
    (pd.DataFrame({"d": [decimal.Decimal("1.5"), decimal.Decimal("2")]}), SchemaError,
     r"column 'd' holds Python Decimal values \(e.g. Decimal\('1.5'\) \(Decimal\) at row 0\), which tabsyn cannot "
     r"model; accepted: numbers, strings, booleans, datetimes. Convert it, e.g. df\['d'\] = df\['d'\].astype\(float\)"),
    (pd.DataFrame({"b": [b"x", b"y"]}), SchemaError,
     r"column 'b' holds Python bytes values .*\.str\.decode\('utf-8'\)"),
    (pd.DataFrame({"t": pd.to_timedelta([1, 2], unit="s")}), SchemaError,
     r"column 't' has dtype timedelta64\[ns\] \(e.g. Timedelta\('0 days 00:00:01'\) at row 0\), which tabsyn "
     r"cannot model; .* df\['t'\].dt.total_seconds\(\)"),
    (pd.DataFrame({"p": pd.period_range("2020-01", periods=3, freq="M")}), SchemaError,
     r"column 'p' has dtype period\[M\] .* df\['p'\].dt.to_timestamp\(\)"),
    (pd.DataFrame({"z": pd.Series([pd.Timestamp("2020", tz="UTC"), pd.Timestamp("2021", tz="Asia/Tokyo")],
                                  dtype=object)}),
     SchemaError,
     r"column 'z' holds datetimes that pandas cannot put on one time axis .* "
     r"pd.to_datetime\(df\['z'\], utc=True\)"),
    (pd.DataFrame({"o": pd.Series([1.5, 2, None], dtype=object)}), SchemaError,
     r"column 'o' is dtype object but holds only numbers \(e.g. 1.5 \(float\) at row 0, 2 \(int\) at row 1\); "
     r"convert it with df\['o'\] = pd.to_numeric\(df\['o'\]\)"),
    (pd.DataFrame({"k": pd.Series(range(30), dtype=object)}), SchemaError,
     r"column 'k' is dtype object but holds 30 different integers .*\.astype\('Int64'\)"),
    (pd.DataFrame({"l": [[1, 2], [3]]}), SchemaError, r"column 'l' holds unhashable Python \['list'\] values"),
    (pd.DataFrame({"c": pd.Categorical([(1, 2), (3, 4)])}), SchemaError,
     r"column 'c' is categorical with categories of type \['tuple'\] \(e.g. \(1, 2\) \(tuple\) at row 0\)"),
    (pd.DataFrame({"id": [f"K{i:03d}" for i in range(30)]}), SchemaError,
     r"every column of the table is ID-like \(\['id'\]\); tabsyn needs at least one"),
]


@pytest.mark.parametrize("data, error, message", BAD,
                         ids=[m.split(" ")[0][:24] + str(i) for i, (_, _, m) in enumerate(BAD)])
def test_bad_input_fails_at_fit_saying_what_to_do(data, error, message, tiny_settings):
    with pytest.raises(error, match=message):
        TabSynthesizer(**tiny_settings).fit(data)


def test_every_problem_is_reported_at_once(tiny_settings):
    df = pd.DataFrame({"e": [None] * 3, "f": [1.0, np.inf, 2.0], "ok": ["a", "b", "c"], "m": [1, "x", 2.0]})
    with pytest.raises(SchemaError,
                       match=r"^3 columns cannot be modelled:\n- column 'e' .*\n- column 'f' .*\n- column 'm' "):
        TabSynthesizer(**tiny_settings).fit(df)
