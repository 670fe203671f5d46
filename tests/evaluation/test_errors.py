"""Bad input gets an error that names the argument, what was received and what is accepted."""

import numpy as np
import pandas as pd
import pytest

from tabsyn.evaluation import evaluate


@pytest.fixture()
def real():
    n = 60
    return pd.DataFrame({
        "x": np.linspace(0.0, 1.0, n),
        "k": ["a", "b", "c"] * (n // 3),
        "y": [0, 1] * (n // 2),
    })


def test_non_dataframes_are_refused(real):
    with pytest.raises(TypeError, match="synthetic must be a pandas DataFrame; got ndarray"):
        evaluate(real, real.to_numpy())
    with pytest.raises(TypeError, match="real must be a pandas DataFrame; got list"):
        evaluate([1, 2], real)
    with pytest.raises(TypeError, match="holdout must be a pandas DataFrame; got dict"):
        evaluate(real, real, holdout={"x": [1]})


def test_missing_and_extra_columns_are_named(real):
    with pytest.raises(ValueError, match=r"missing from synthetic \['k'\], not in real \['z'\]"):
        evaluate(real, real.drop(columns="k").assign(z=1))


def test_column_order_must_match(real):
    with pytest.raises(ValueError, match=r"another order.*reorder it with synthetic\[real.columns\]"):
        evaluate(real, real[["y", "x", "k"]])


def test_kind_mismatches_are_all_listed(real):
    bad = real.assign(x=real["x"].astype(str), k=np.arange(len(real)) % 3)
    with pytest.raises(ValueError, match=r"'x' is numerical in real but holds text.*'k' holds text values"):
        evaluate(real, bad)


def test_holdout_with_other_columns_is_refused(real):
    with pytest.raises(ValueError, match=r"holdout must have the same columns as real: missing from holdout \['y'\]"):
        evaluate(real, real, holdout=real.drop(columns="y"))


def test_target_must_be_a_column(real):
    accepted = r"accepted: None or one of \['x', 'k', 'y'\]"
    with pytest.raises(ValueError, match=r"target='income' is not a column of real; " + accepted):
        evaluate(real, real, holdout=real, target="income")


def test_target_needs_a_holdout(real):
    with pytest.raises(ValueError, match="target='y' was given without holdout"):
        evaluate(real, real, target="y")


def test_options_are_checked(real):
    with pytest.raises(TypeError, match="random_state must be None or a non-negative int; got 'a'"):
        evaluate(real, real, random_state="a")
    with pytest.raises(ValueError, match="max_rows must be None or an int >= 10; got 5"):
        evaluate(real, real, max_rows=5)


def test_empty_synthetic_is_refused(real):
    with pytest.raises(ValueError, match="synthetic has no rows"):
        evaluate(real, real.iloc[:0])


def test_metadata_overrides_inferred_kinds(real):
    metadata = {"columns": {"x": {"sdtype": "numerical"}, "k": {"sdtype": "categorical"},
                            "y": {"sdtype": "numerical"}}}
    result = evaluate(real, real, metadata=metadata)
    assert result.info["kinds"] == {"x": "numerical", "k": "categorical", "y": "numerical"}
    with pytest.raises(ValueError, match=r"columns without metadata \['y'\]"):
        evaluate(real, real, metadata={"columns": {"x": {"sdtype": "numerical"}, "k": {"sdtype": "categorical"}}})
