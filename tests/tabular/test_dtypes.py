"""Every dtype pandas can hold is learned (and comes back in its dtype) or refused at fit, naming the column.

Each case adds one column to a small real slice of Adult, fits the tiny budget
and samples (issue 12, item 12).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tabsyn import TabSynthesizer
from tabsyn.table.schema import SchemaError

N = 200
RNG = np.random.default_rng(0)
INTS = RNG.integers(0, 100, N)
SOME_MISSING = INTS < 10


def nullable(values, dtype):
    """A nullable array with about 10% missing (built from NumPy: pandas cannot read big ints beside None)."""
    out = pd.array(np.asarray(values), dtype=dtype)
    out[SOME_MISSING] = None
    return out


# name -> (column builder, expected kind, or the SchemaError message that fit must raise)
CASES = {
    "int8": (lambda: pd.Series(INTS, dtype="int8"), "numerical"),
    "uint8": (lambda: pd.Series(INTS + 150, dtype="uint8"), "numerical"),
    "int16": (lambda: pd.Series(INTS * 300 - 15_000, dtype="int16"), "numerical"),
    "uint16": (lambda: pd.Series(INTS * 600, dtype="uint16"), "numerical"),
    "int32": (lambda: pd.Series(INTS * 20_000_000 - 2**31, dtype="int32"), "numerical"),
    "uint32": (lambda: pd.Series(INTS * 40_000_000, dtype="uint32"), "numerical"),
    "int64": (lambda: pd.Series(INTS * 10**16 - 2**62, dtype="int64"), "numerical"),
    "uint64-near-2**64": (lambda: pd.Series(INTS.astype(np.uint64) * np.uint64(10**17) + np.uint64(2**63),
                                            dtype="uint64"), "numerical"),
    "Int8": (lambda: nullable(INTS - 50, "Int8"), "numerical"),
    "Int16": (lambda: nullable(INTS * 300, "Int16"), "numerical"),
    "Int32": (lambda: nullable(INTS * 10**7, "Int32"), "numerical"),
    "Int64": (lambda: nullable(INTS * 10**16, "Int64"), "numerical"),
    "UInt8": (lambda: nullable(INTS + 150, "UInt8"), "numerical"),
    "UInt16": (lambda: nullable(INTS * 600, "UInt16"), "numerical"),
    "UInt32": (lambda: nullable(INTS * 4 * 10**7, "UInt32"), "numerical"),
    "UInt64": (lambda: nullable(INTS.astype(np.uint64) * np.uint64(10**17) + np.uint64(2**63), "UInt64"),
               "numerical"),
    "uint64-key-near-2**64": (lambda: pd.Series(np.uint64(2**64 - 1) - np.arange(N, dtype=np.uint64),
                                                dtype="uint64"), "id"),
    "UInt64-key-near-2**64": (lambda: pd.Series(np.uint64(2**64 - 1) - np.arange(N, dtype=np.uint64) * np.uint64(3),
                                                dtype="UInt64"), "id"),
    "int64-key-at-the-top": (lambda: pd.Series(2**63 - 1 - np.arange(N), dtype="int64"), "id"),
    "int16-key": (lambda: pd.Series(np.arange(N) + 32_000, dtype="int16"), "id"),
    "rownames-after-sampling-rows": (lambda: pd.Series(RNG.choice(50_000, N, replace=False) + 1), "id"),
    "few-integer-codes": (lambda: pd.Series(INTS % 5, dtype="int16"), "categorical"),
    "float16": (lambda: pd.Series(RNG.normal(size=N), dtype="float16"), "numerical"),
    "float32": (lambda: pd.Series(RNG.normal(size=N) * 1e30, dtype="float32"), "numerical"),
    "Float32": (lambda: nullable(INTS / 3, "Float32"), "numerical"),
    "Float64": (lambda: nullable(INTS / 7, "Float64"), "numerical"),
    "sparse": (lambda: pd.Series(pd.arrays.SparseArray(np.where(INTS < 70, 0.0, INTS / 2))), "numerical"),
    "bool": (lambda: pd.Series(INTS % 2 == 0), "categorical"),
    "boolean": (lambda: nullable(INTS % 2 == 0, "boolean"), "categorical"),
    "string": (lambda: nullable([f"s{v % 7}" for v in INTS], "string"), "categorical"),
    "datetime64[s]": (lambda: pd.Series(pd.date_range("2020", periods=N, freq="h").astype("datetime64[s]")),
                      "datetime"),
    "datetime-tz": (lambda: pd.Series(pd.date_range("2020-03-28", periods=N, freq="17min", tz="Europe/Paris")),
                    "datetime"),
    "interval": (lambda: pd.Series(pd.arrays.IntervalArray.from_breaks(np.arange(0, 25, 5))[INTS % 4]),
                 "categorical"),
    "category-of-ints": (lambda: pd.Series(pd.Categorical(INTS % 5)), "categorical"),
    "category-of-floats": (lambda: pd.Series(pd.Categorical((INTS % 5) * 0.5)), "categorical"),
    "category-of-bools": (lambda: pd.Series(pd.Categorical(INTS % 2 == 0)), "categorical"),
    "category-of-dates": (lambda: pd.Series(pd.Categorical(pd.Timestamp("2020-01-01")
                                                           + pd.to_timedelta(INTS % 4, unit="D"))), "categorical"),
    "category-of-intervals": (lambda: pd.cut(pd.Series(INTS), 4), "categorical"),
    "complex": (lambda: pd.Series(RNG.normal(size=N) + 1j, dtype="complex128"),
                r"column 'extra' has dtype complex128 \(e.g. .* at row 0\), which tabsyn cannot model; accepted: "
                r"integers, floats, strings, categories, booleans, datetimes, intervals. Convert it, e.g. "
                r"df\['extra' \+ '_re'\], df\['extra' \+ '_im'\] = df\['extra'\].to_numpy\(\).real"),
    "period": (lambda: pd.Series(pd.period_range("2020-01", periods=N, freq="M")),
               r"column 'extra' has dtype period\[M\] \(e.g. Period\('2020-01', 'M'\) at row 0\), which tabsyn "
               r"cannot model; accepted: .* df\['extra'\] = df\['extra'\].dt.to_timestamp\(\)"),
    "timedelta": (lambda: pd.Series(pd.to_timedelta(INTS, unit="s")),
                  r"column 'extra' has dtype timedelta64\[ns\] .* which tabsyn cannot model; accepted: .* "
                  r"df\['extra'\].dt.total_seconds\(\) \(seconds as numbers\)"),
    "category-of-periods": (lambda: pd.Series(pd.Categorical(pd.period_range("2020", periods=4, freq="Y")[INTS % 4])),
                            r"column 'extra' is categorical with categories of type \['Period'\] .* accepted "
                            r"categories: strings, numbers, booleans, datetimes, intervals"),
    "object-of-complex": (lambda: pd.Series([complex(v, 1) for v in INTS], dtype=object),
                          r"column 'extra' holds Python complex values .* which tabsyn cannot model"),
}


@pytest.fixture(scope="module")
def adult_slice(adult):
    return adult.sample(n=N, random_state=3).reset_index(drop=True)[["age", "workclass", "sex", "hours-per-week"]]


@pytest.mark.parametrize("case", list(CASES))
def test_every_dtype_round_trips_or_is_refused_at_fit_naming_the_column(case, adult_slice, tiny_settings):
    build, expected = CASES[case]
    df = adult_slice.assign(extra=build())
    synth = TabSynthesizer(**tiny_settings, random_state=0)
    if expected not in ("numerical", "categorical", "datetime", "id"):
        with pytest.raises(SchemaError, match=expected):
            synth.fit(df)
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "column 'extra' holds .* spread evenly", UserWarning)
        synth.fit(df)
    assert synth.columns_[-1].kind == expected
    out = pd.concat([synth.sample(60), synth.sample(60)], ignore_index=True)  # one stream, 120 rows
    real, fake = df["extra"], out["extra"]
    assert fake.dtype == real.dtype and list(out.dtypes) == list(df.dtypes)
    present, seen = fake.dropna(), real.dropna()
    if expected == "id":
        assert fake.notna().all() and fake.is_unique and set(fake).isdisjoint(seen)
    elif expected == "categorical":
        assert set(present) <= set(seen)
    else:
        assert present.min() >= seen.min() and present.max() <= seen.max()
    assert fake.notna().all() or real.isna().any()


def test_unique_integers_that_are_measurements_stay_numbers(adult, tiny_settings):
    """fnlwgt is all different in a 200-row slice, but skewed, so it is a number, not a key."""
    df = adult.sample(n=N, random_state=3).reset_index(drop=True)[["age", "fnlwgt"]]
    assert df["fnlwgt"].is_unique
    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    assert [c.kind for c in synth.columns_] == ["numerical", "numerical"]


def test_sampled_row_numbers_are_keys_with_a_warning_saying_how_to_model_them_as_numbers(adult, tiny_settings):
    df = adult.sample(n=1000, random_state=0)[["age", "sex"]]
    df = df.assign(rows=df.index.to_numpy() + 1).reset_index(drop=True)  # what R's rownames keep after sampling
    with pytest.warns(UserWarning, match=r"column 'rows' holds 1000 different integers spread evenly from \d+ to "
                                         r"\d+, as the row numbers of a sample of rows are; it is treated as a key "
                                         r".* df\['rows'\].astype\(float\)"):
        synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    out = synth.sample(5000, random_state=0)
    assert out["rows"].is_unique and set(out["rows"]).isdisjoint(df["rows"])  # 38 duplicates when a number
    assert out["rows"].dtype == np.int64
    numbers = TabSynthesizer(**tiny_settings, random_state=0).fit(df.assign(rows=df["rows"].astype(float)))
    assert numbers.columns_[-1].kind == "numerical"


def test_small_integer_keys_that_run_out_of_room_say_so_naming_the_column(adult, tiny_settings):
    df = adult.head(100)[["age", "sex"]].assign(k=pd.Series(np.arange(100), dtype="int8"))
    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    assert synth.columns_[-1].kind == "id"
    assert synth.sample(100, random_state=0)["k"].dtype == np.int8  # 28 above, 128 below the training keys
    with pytest.raises(ValueError, match=r"column 'k': its int8 keys leave room for 156 new keys outside the "
                                         r"training keys \(0 to 99\), but the sample stream has reached row 199; "
                                         r"cast the column to a wider integer type"):
        synth.sample(200, random_state=0)
