"""TableCodec.encode_known: known cells (conditions, cells to keep) in model space, and what it refuses."""

import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import infer_schema
from tabsyn.tabular.codec import KnownValueError, TableCodec


@pytest.fixture(scope="module")
def fitted_adult(adult_small):
    codec = TableCodec()
    x_num, x_cat = codec.fit_encode(adult_small, infer_schema(adult_small))
    return codec, x_num, x_cat


@pytest.fixture()
def gappy():
    """Missing values in a number, a category and a date; a key column."""
    n = 40
    return pd.DataFrame({
        "x": [np.nan if i % 4 == 0 else i * 0.5 for i in range(n)],
        "c": [np.nan if i % 5 == 0 else "uvw"[i % 3] for i in range(n)],
        "n": np.arange(n) % 13 * 1.5,
        "when": pd.Series(pd.date_range("2021-01-01", periods=n, freq="D")).mask(lambda s: s.index % 8 == 3),
        "key": [f"id{i:03d}" for i in range(n)],
    })


def encode(codec, frame, cells=None, present=False):
    cells = np.ones(frame.shape, bool) if cells is None else cells
    return codec.encode_known(frame.reset_index(drop=True), cells, present=present)


# -- values encoded -------------------------------------------------------------------

def test_known_cells_are_encoded_as_the_training_rows_are(fitted_adult, adult_small):
    codec, x_num, x_cat = fitted_adult
    got = encode(codec, adult_small.head(50))
    np.testing.assert_array_equal(got.x_num, x_num[:50])
    np.testing.assert_array_equal(got.x_cat, x_cat[:50])
    assert got.num_known.all() and got.cat_known.all() and not got.forbid_missing.any()
    pd.testing.assert_frame_equal(got.values, adult_small.head(50), check_column_type=False)


def test_unknown_cells_are_neutral(fitted_adult, adult_small):
    codec, x_num, x_cat = fitted_adult
    frame = adult_small.head(60)
    cells = np.random.default_rng(0).random(frame.shape) < 0.5
    got = encode(codec, frame, cells)
    specs = codec.specs
    num = [k for k, s in enumerate(specs) if s.kind == "numerical"]
    cat = [k for k, s in enumerate(specs) if s.kind == "categorical"]
    np.testing.assert_array_equal(got.num_known, cells[:, num])
    np.testing.assert_array_equal(got.cat_known, cells[:, cat])
    assert (got.x_num[~got.num_known] == 0).all()  # the median
    modes = np.array([np.bincount(x_cat[:, j]).argmax() for j in range(x_cat.shape[1])])
    np.testing.assert_array_equal(np.where(got.cat_known, 0, got.x_cat), np.where(got.cat_known, 0, modes))
    np.testing.assert_array_equal(got.x_num[got.num_known], x_num[:60][got.num_known])
    np.testing.assert_array_equal(got.x_cat[got.cat_known], x_cat[:60][got.cat_known])


def test_columns_may_come_in_any_subset_and_order(fitted_adult, adult_small):
    codec, x_num, x_cat = fitted_adult
    got = encode(codec, adult_small[["sex", "age"]].head(10))
    assert got.num_known[:, 0].all() and not got.num_known[:, 1:].any()
    np.testing.assert_array_equal(got.x_num[:, 0], x_num[:10, 0])
    assert list(got.values.columns) == ["sex", "age"]


def test_known_missing_values_set_the_flag_and_the_missing_code(gappy):
    codec = TableCodec()
    x_num, x_cat = codec.fit_encode(gappy, infer_schema(gappy))
    assert codec.cat_sizes == [4, 2, 2]  # c (u, v, w, missing), then the flags of x and when
    frame = gappy[["x", "c", "when"]].head(8)
    got = encode(codec, frame)
    np.testing.assert_array_equal(got.x_cat, x_cat[:8])
    np.testing.assert_array_equal(got.x_num[:, [0, 2]], x_num[:8, [0, 2]])
    assert got.x_cat[0].tolist() == [3, 1, 0] and got.x_cat[3].tolist() == [got.x_cat[3, 0], 0, 1]
    assert got.cat_known.all()
    pd.testing.assert_frame_equal(got.values, frame, check_column_type=False)


def test_with_present_unknown_cells_may_not_be_missing(gappy):
    codec = TableCodec().fit(gappy, infer_schema(gappy))
    frame = gappy[["x", "c", "n"]].head(6)
    cells = np.zeros(frame.shape, bool)
    cells[0] = True  # row 0 known: x and c missing, n given
    free = encode(codec, frame, cells, present=False)
    filled = encode(codec, frame, cells, present=True)
    assert not free.forbid_missing.any() and not free.cat_known[1:].any()
    # Unknown numbers are to get a value: their "x is missing" flag is known, and 0.
    assert filled.cat_known[:, 1].all() and filled.x_cat[1:, 1].tolist() == [0] * 5 and filled.x_cat[0, 1] == 1
    assert filled.cat_known[:, 2].all() and not filled.x_cat[:, 2].any()  # `when`, not given, too
    # Unknown categories may not draw their "missing" level; a known missing one may.
    assert filled.forbid_missing[:, 0].tolist() == [False] + [True] * 5
    assert not filled.forbid_missing[:, 1:].any()


def test_large_integers_and_old_dates_come_back_exactly():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "big": rng.integers(-(10**15), 10**15, 40) * 1000,
        "ns": pd.to_datetime(rng.integers(0, 10**18, 40) + 1_600_000_000_000_000_001),
        "old": pd.Series(np.array(["2999-12-31", "1066-10-14", "2020-02-29", "1500-01-01"] * 10,
                                  dtype="datetime64[s]")),
    })
    codec = TableCodec().fit(df, infer_schema(df))
    got = encode(codec, df)
    pd.testing.assert_frame_equal(got.values, df, check_column_type=False)


# -- what it refuses ------------------------------------------------------------------

def one_value(codec, column, value):
    return encode(codec, pd.DataFrame({column: pd.Series([value], dtype=object)}))


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("sex", "Other", r"^column 'sex': 'Other' never seen in training; accepted: 'Female', 'Male'$"),
        ("sex", None, r"^column 'sex': a missing value never seen in training; accepted: 'Female', 'Male'$"),
        ("workclass", 3, r"^column 'workclass': 3 never seen in training; accepted: 'Federal-gov', .* "
                         r"or a missing value$"),
        ("education", "PhD", r"^column 'education': 'PhD' never seen in training; accepted: '10th', '11th', "
                             r".*, \.\.\. \(16 in all\)$"),
        ("education-num", 99, r"^column 'education-num': 99 never seen in training; accepted: 1, 2, 3, "),
        ("age", 200, r"^column 'age': 200 outside what training saw; accepted: values from 17 to 90$"),
        ("age", "old", r"^column 'age': 'old' \(not a number\) outside what training saw; "
                       r"accepted: values from 17 to 90$"),
        ("age", None, r"^column 'age': a missing value outside what training saw; accepted: values from 17 to 90$"),
    ],
    ids=["category", "missing-category", "wrong-type", "many-categories", "integer-codes", "number", "not-a-number",
         "missing-number"],
)
def test_each_refused_value_is_named_with_what_is_accepted(fitted_adult, column, value, message):
    codec = fitted_adult[0]
    with pytest.raises(KnownValueError, match=message):
        one_value(codec, column, value)


def test_dates_outside_the_seen_range_or_not_dates_are_refused(gappy):
    codec = TableCodec().fit(gappy, infer_schema(gappy))
    accepted = (r"accepted: values from Timestamp\('2021-01-01 00:00:00'\) to Timestamp\('2021-02-09 00:00:00'\) "
                r"or a missing value$")
    with pytest.raises(KnownValueError, match=r"^column 'when': '1999-01-01' outside what training saw; " + accepted):
        one_value(codec, "when", "1999-01-01")
    with pytest.raises(KnownValueError, match=r"^column 'when': 'soon' \(not a date\) outside what training saw; "
                                              + accepted):
        one_value(codec, "when", "soon")


def test_id_columns_and_unknown_labels_cannot_be_given(gappy):
    codec = TableCodec().fit(gappy, infer_schema(gappy))
    with pytest.raises(KnownValueError, match=r"^column 'key' holds IDs, which are generated anew for every row; "
                                              r"it cannot be given$"):
        one_value(codec, "key", "id000")
    with pytest.raises(KnownValueError, match=r"^no column named 'nope'; "
                                              r"the columns are \['x', 'c', 'n', 'when', 'key'\]$"):
        one_value(codec, "nope", 1)


def test_every_problem_is_listed_together_and_long_lists_are_cut(fitted_adult, adult_small):
    codec = fitted_adult[0]
    frame = pd.DataFrame({"age": [200, 300, 400, 500, 600, 700, 40], "sex": ["Male"] * 6 + ["Other"]})
    with pytest.raises(KnownValueError) as err:
        encode(codec, frame)
    assert str(err.value) == (
        "2 columns have values the model cannot take:\n"
        "- column 'age': 200, 300, 400, 500, 600 ... outside what training saw; accepted: values from 17 to 90\n"
        "- column 'sex': 'Other' never seen in training; accepted: 'Female', 'Male'")
    cells = np.ones(frame.shape, bool)
    cells[:6, 0] = cells[6, 1] = False  # unknown cells are never checked
    assert encode(codec, frame, cells).values["age"][6] == 40


def test_cells_must_match_the_frame(fitted_adult, adult_small):
    with pytest.raises(ValueError, match=r"^cells must have the frame's shape \(3, 2\); got \(3, 1\)$"):
        fitted_adult[0].encode_known(adult_small[["age", "sex"]].head(3), np.ones((3, 1), bool), present=False)


# -- unseen values of integer-coded categories (issue 12, item 11) -------------------------

@pytest.fixture(scope="module")
def summer_months():
    """Beijing's weather, May to September only, like R's airquality: month is an integer-coded category."""
    from tabsyn.datasets import load_beijing

    df, _, _ = load_beijing(download=False)
    summer = df[df["month"].between(5, 9)].sample(n=400, random_state=0).reset_index(drop=True)
    return summer[["month", "TEMP", "pm2.5"]].rename(columns={"month": "Month", "TEMP": "Temp"})


ACCEPTED_MONTHS = r"accepted: 5, 6, 7, 8, 9$"


@pytest.mark.parametrize("value", [13, 13.0, "13", np.int8(13), 4.5])
def test_an_unseen_integer_code_is_named_with_the_codes_accepted(summer_months, value):
    codec = TableCodec().fit(summer_months, infer_schema(summer_months))
    assert codec.specs[0].kind == "categorical"
    with pytest.raises(KnownValueError, match=r"^column 'Month': .* never seen in training; " + ACCEPTED_MONTHS):
        one_value(codec, "Month", value)
    assert one_value(codec, "Month", 7.0).values["Month"].tolist() == [7]  # 7.0 is the code 7


def test_an_unseen_integer_code_fails_sample_and_impute_with_the_message(summer_months, tiny_settings):
    from tabsyn import TabSynthesizer

    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(summer_months)
    with pytest.raises(KnownValueError, match=r"^column 'Month': 13 never seen in training; " + ACCEPTED_MONTHS):
        synth.sample(5, conditions={"Month": 13})
    holes = summer_months.head(3).assign(Month=[13, 6, 7], Temp=np.nan)
    with pytest.raises(KnownValueError, match=r"^column 'Month': 13 never seen in training; " + ACCEPTED_MONTHS):
        synth.impute(holes)
    assert (synth.sample(5, conditions={"Month": 6}, random_state=0)["Month"] == 6).all()
