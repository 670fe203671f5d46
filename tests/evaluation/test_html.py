"""to_html writes one page that works offline: plotly.js inline, no remote scripts."""

import re

import pytest

from tabsyn.evaluation import evaluate


@pytest.fixture(scope="module")
def page(adult_split, tmp_path_factory):
    train, holdout, other = adult_split
    result = evaluate(train.iloc[:300], other.iloc[:300], holdout=holdout.iloc[:300], target="income")
    path = result.to_html(tmp_path_factory.mktemp("report") / "report.html")
    return path.read_text(encoding="utf-8")


def test_plotly_is_inline_and_no_script_is_fetched(page):
    assert "Plotly" in page and len(page) > 1_000_000  # plotly.js itself is in the file
    assert not re.search(r"<script[^>]*\ssrc\s*=\s*[\"']?https?:", page, flags=re.IGNORECASE)
    assert page.count("plotly.js v") <= 2  # embedded once (its banner names the version)


def test_every_section_and_number_is_there(page):
    for anchor in ("summary", "columns", "shapes", "pairs", "privacy", "validity"):
        assert f"id='{anchor}'" in page
    for metric in ("quality_score", "column_pair_trends", "roc_auc", "roc_auc_holdout", "dcr_share", "copy_rate"):
        assert metric in page
    assert "Against 300 holdout rows the generator never saw" in page
    assert page.count("class=\"plotly-graph-div\"") == 15 + 2  # 15 columns, heatmap, DCR


def test_without_a_holdout_the_page_says_the_holdout_auc_was_not_measured(adult_split, tmp_path):
    train, _, other = adult_split
    page = evaluate(train.iloc[:200], other.iloc[:200]).to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Against holdout rows: not measured (no holdout given)" in page
    assert "roc_auc_holdout</td>" not in page
