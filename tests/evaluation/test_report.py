"""What the report tells a data scientist: counts as counts, what a good value is, warnings, missing
rates, categories in a readable order, high-cardinality columns, and on how many rows efficacy trained."""

import numpy as np
import pandas as pd
import pytest

from tabsyn.datasets import load_beijing
from tabsyn.evaluation import evaluate
from tabsyn.evaluation.guide import DETECTION_WARNING_AUC
from tabsyn.evaluation.html import TOP_CATEGORIES, categorical_column_figure, category_order


@pytest.fixture(scope="module")
def fake(adult_split):
    """Obviously fake rows (ages past 57, everyone in preschool), fewer of them than the real rows,
    with occupation missing in 30% of them."""
    train, holdout, other = adult_split
    fake = other.iloc[:200].assign(age=other["age"].iloc[:200] + 40, education="Preschool")
    fake.loc[fake.index[:60], "occupation"] = np.nan
    return evaluate(train.iloc[:300], fake, holdout=holdout.iloc[:300], target="income")


@pytest.fixture(scope="module")
def fake_page(fake, tmp_path_factory):
    return fake.to_html(tmp_path_factory.mktemp("report") / "r.html").read_text(encoding="utf-8")


def test_counts_are_integers_in_the_frame_the_text_and_the_page(fake, fake_page):
    frame = fake.to_frame()
    n_rows = frame.loc[frame["metric"] == "n_rows", "value"].item()
    assert type(n_rows) is int and n_rows == 200
    line = next(line for line in str(fake).splitlines() if " n_rows " in line)
    assert line.split()[2] == "200"
    assert "<td>n_rows</td>\n      <td>200</td>" in fake_page
    assert "200.0000" not in fake_page and "200.0000" not in str(fake)


def test_every_score_says_what_a_good_value_is(fake):
    frame = fake.to_frame(guide=True).set_index("metric")
    assert frame.loc["roc_auc", "good value"].startswith("0.5 = indistinguishable")
    assert frame.loc["quality_score", "good value"].startswith("1 = as in the real table; closer to 1 is better")
    assert frame.loc["dcr_share", "good value"].startswith("0.5 = ")
    assert "higher is better" in frame.loc["synthetic", "good value"]
    assert "0.5 = indistinguishable" in str(fake)


def test_a_detection_auc_near_one_gets_a_warning_and_chance_does_not(fake, fake_page, adult_split):
    assert fake.detection_auc > DETECTION_WARNING_AUC
    first = f"detection AUC {fake.detection_auc:.4f} against 200 training rows"
    assert any(w.startswith(first) for w in fake.warnings())
    assert "warning: detection AUC" in str(fake)
    assert "<p class='warning'>Warning: detection AUC" in fake_page
    train, _, other = adult_split
    fresh = evaluate(train.iloc[:300], other.iloc[:300])
    assert fresh.warnings() == [] and "warning:" not in str(fresh)


def test_missing_value_rates_of_real_synthetic_and_holdout_side_by_side(fake, fake_page, adult_split):
    train, holdout, _ = adult_split
    rates = fake.missing_rates().set_index("column")
    assert list(rates.columns) == ["real", "synthetic", "holdout"]
    assert set(rates.index) == {c for c in train.columns if train[c].iloc[:300].isna().any()
                                or holdout[c].iloc[:300].isna().any()} | {"occupation"}
    assert rates.loc["occupation", "synthetic"] >= 0.3  # 60 of 200 set missing, plus any already
    assert rates.loc["occupation", "real"] == pytest.approx(train["occupation"].iloc[:300].isna().mean())
    assert rates.loc["occupation", "holdout"] == pytest.approx(holdout["occupation"].iloc[:300].isna().mean())
    assert "id='missing'" in fake_page and f"{rates.loc['occupation', 'synthetic']:.1%}" in fake_page
    assert f"occupation: real {rates.loc['occupation', 'real']:.1%}" in str(fake)


def test_the_efficacy_sentence_says_on_how_many_rows_each_model_trained(fake, fake_page):
    e = fake.efficacy
    assert (e.n_synthetic, e.n_real, e.n_holdout) == (200, 300, 300)
    for text in (str(fake), fake_page):
        assert "on 300 real holdout rows, trained on 200 synthetic rows" in text
        assert "or on 300 real training rows" in text
        assert "different numbers of rows (200 vs 300)" in text


@pytest.fixture(scope="module")
def beijing():
    df, _, _ = load_beijing(download=False)
    return df.iloc[:3000]


def test_integer_coded_categories_are_ordered_by_value_and_text_ones_by_frequency(beijing, adult_split):
    months = categorical_column_figure("month", beijing["month"], beijing["month"].sample(frac=1, random_state=0))
    assert list(months.data[0].x) == [str(m) for m in sorted(beijing["month"].unique())]
    assert months.layout.xaxis.type == "category"  # plotly keeps the order given
    assert category_order(["10", "5", "\0missing", "7.5"]) == ["5", "7.5", "10", "\0missing"]
    workclass = adult_split[0]["workclass"]
    figure = categorical_column_figure("workclass", workclass, workclass)
    by_frequency = [("(missing)" if pd.isna(k) else k) for k in workclass.value_counts(dropna=False).index]
    assert list(figure.data[0].x) == [k for k in by_frequency if k != "(missing)"] + ["(missing)"]


def test_a_high_cardinality_column_is_named_so_not_drawn_as_one_tall_other_bar(adult_split):
    train = adult_split[0]
    weights = train["fnlwgt"].astype(str)  # about one category per row
    figure = categorical_column_figure("fnlwgt", weights, weights)
    assert len(figure.data[0].x) == TOP_CATEGORIES and not any("(other" in x for x in figure.data[0].x)
    assert f"high-cardinality: {weights.nunique():,} categories" in figure.layout.title.text
    country = train["native-country"]  # a few big categories and a tail
    figure = categorical_column_figure("native-country", country, country)
    rest = country.nunique(dropna=False) - TOP_CATEGORIES
    assert figure.data[0].x[-1] == f"(other: {rest} categories)"
    assert "high-cardinality" not in figure.layout.title.text
