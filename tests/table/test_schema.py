import warnings

import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import (
    CATEGORICAL, DATETIME, ID, NUMERICAL, SchemaError, infer_schema, integer_key_rule, names_a_key,
)


def kinds(df, **kw):
    return {s.name: s.kind for s in infer_schema(df, **kw)}


def test_adult_kinds_are_read_off_the_dataframe(adult_small):
    k = kinds(adult_small)
    assert k["age"] == NUMERICAL and k["fnlwgt"] == NUMERICAL
    assert k["workclass"] == CATEGORICAL and k["income"] == CATEGORICAL
    assert k["education-num"] == CATEGORICAL  # 16 integer codes


def test_every_kind_is_inferred():
    n = 50
    df = pd.DataFrame({
        "f": np.linspace(0, 1, n),
        "i_many": np.arange(n) * 7 % 41,
        "i_few": np.arange(n) % 3,
        "s": ["a", "b"] * (n // 2),
        "b": [True, False] * (n // 2),
        "c": pd.Categorical(["x", "y"] * (n // 2)),
        "d": pd.date_range("2020-01-01", periods=n, tz="UTC"),
        "key": [f"K{i:04d}" for i in range(n)],
        "row": np.arange(100, 100 + n),
    })
    assert kinds(df) == {
        "f": NUMERICAL, "i_many": NUMERICAL, "i_few": CATEGORICAL, "s": CATEGORICAL, "b": CATEGORICAL,
        "c": CATEGORICAL, "d": DATETIME, "key": ID, "row": ID,
    }


def test_max_int_levels_moves_integers_between_kinds():
    df = pd.DataFrame({"x": np.arange(40) % 10})
    assert kinds(df)["x"] == CATEGORICAL
    assert kinds(df, max_int_levels=5)["x"] == NUMERICAL


def test_not_a_dataframe_is_a_type_error():
    with pytest.raises(TypeError, match="expected a pandas DataFrame; got ndarray"):
        infer_schema(np.zeros((3, 2)))


def test_all_problems_are_reported_together():
    df = pd.DataFrame({
        "empty": [np.nan] * 4,
        "mixed": [1, "a", 2.5, None],
        "inf": [1.0, np.inf, 2.0, 3.0],
        "ok": [1.0, 2.0, 3.0, 4.0],
    })
    with pytest.raises(SchemaError) as err:
        infer_schema(df)
    msg = str(err.value)
    assert "column 'empty' has no values" in msg
    assert "column 'mixed' mixes Python types ['float', 'int', 'str'] (e.g. 1 (int) at row 0, 'a' (str) at row 1" in msg
    assert "column 'inf' holds 1 infinite value(s) (e.g. inf at row 1)" in msg
    assert "'ok'" not in msg


@pytest.mark.parametrize(
    "df, message",
    [
        (pd.DataFrame(), "the table has no columns"),
        (pd.DataFrame({"a": [1]}), "the table has 1 row; tabsyn needs at least 2 rows"),
        (pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"]), r"duplicate column names \['a'\]"),
    ],
)
def test_tables_that_cannot_be_learned(df, message):
    with pytest.raises(SchemaError, match=message):
        infer_schema(df)


# -- identifying text and integer keys (issue 12, items 3 and 12) ---------------------------

def test_near_unique_text_is_identifying_with_a_warning_and_unique_keys_are_silent():
    n = 100
    names = pd.Series([f"Name{i % 70} X" for i in range(n)])  # 70 distinct of 100: more than half
    with pytest.warns(UserWarning, match=r"^column 'who' is treated as identifying text: 70 of its 100 values are "
                                         r"different \(more than 50%\), so it is not learned as a category .* "
                                         r"df\['who'\].astype\('category'\)$"):
        assert kinds(pd.DataFrame({"who": names}))["who"] == ID
    half = pd.Series([f"Name{i % 50}" for i in range(n)])  # exactly half: a category
    codes = pd.Series([f"K{i:04d}" for i in range(n)])      # every value different: a key, as before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kinds(pd.DataFrame({"half": half, "codes": codes})) == {"half": CATEGORICAL, "codes": ID}
        assert kinds(pd.DataFrame({"c": pd.Categorical(names)}))["c"] == CATEGORICAL  # a declared category
        assert kinds(pd.DataFrame({"few": [f"v{i}" for i in range(15)]}))["few"] == CATEGORICAL  # under 20


@pytest.mark.parametrize("label, is_key", [
    ("", True), ("Unnamed: 0", True), ("rownames", True), ("index", True), ("ID", True), ("customer_id", True),
    ("CustomerID", True), ("userId", True), ("Row ID", True), ("order key", True),
    ("paid", False), ("idle", False), ("keyboard", False), ("fnlwgt", False), (3, False),
])
def test_a_label_names_a_key(label, is_key):
    assert names_a_key(label) is is_key


def test_unique_integers_are_keys_by_the_rule_and_measurements_are_not(adult):
    rng = np.random.default_rng(0)
    sample_rows = pd.Series(rng.choice(100_000, 500, replace=False))  # row numbers after sampling rows
    fnlwgt = adult["fnlwgt"].drop_duplicates().iloc[:500].reset_index(drop=True)  # unique, skewed: a measurement
    assert integer_key_rule("x", pd.Series(np.arange(7, 57))) == "consecutive"
    assert integer_key_rule("customer_id", fnlwgt) == "label"
    assert integer_key_rule("x", sample_rows) == "spread"
    assert integer_key_rule("fnlwgt", fnlwgt) is None
    assert integer_key_rule("x", sample_rows.head(99)) is None  # too few to judge by spread alone
    with pytest.warns(UserWarning, match=r"column 'r' holds 500 different integers spread evenly"):
        assert kinds(pd.DataFrame({"r": sample_rows}))["r"] == ID
    assert kinds(pd.DataFrame({"r": sample_rows.astype(float)}))["r"] == NUMERICAL
    assert kinds(pd.DataFrame({"fnlwgt": fnlwgt}))["fnlwgt"] == NUMERICAL
    assert kinds(pd.DataFrame({"id": fnlwgt.astype("Int64")}))["id"] == ID
