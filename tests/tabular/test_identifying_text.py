"""Near-unique text (names, e-mail addresses) is generated in its format, never copied (issue 12, item 3)."""

from __future__ import annotations

import re
import zlib

import numpy as np
import pandas as pd
import pytest

from tabsyn import TabSynthesizer
from tabsyn.tabular.codec.key import shape

FIRST = {
    "Male": ["James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
             "José", "Wei", "Mohammed", "Kwame", "Jean-Luc", "Ian", "Al"],
    "Female": ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
               "Karen", "Zoë", "Mei", "Fatima", "Ama", "Anne-Marie", "Eve", "Jo"],
}
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Nguyen", "O'Brien", "van der Berg", "Okafor", "Kowalski", "Li", "Müller", "Hernández", "Kim", "Patel"]


def names_for(df: pd.DataFrame) -> pd.Series:
    """A name per Adult row, a deterministic function of the row: first name by sex, initial, surname."""
    out = []
    for i, row in enumerate(df.itertuples(index=False)):
        h = zlib.crc32(f"{row.age}|{row.fnlwgt}|{row.occupation}|{i // 7}".encode())  # every 7th repeats a name
        first = FIRST[row.sex][h % len(FIRST[row.sex])]
        out.append(f"{first} {chr(65 + (h >> 8) % 26)}. {LAST[(h >> 16) % len(LAST)]}")
    return pd.Series(out)


@pytest.fixture(scope="module")
def with_names(adult):
    df = adult.sample(n=3000, random_state=5).reset_index(drop=True)[["age", "sex", "occupation", "fnlwgt"]]
    names = names_for(df)
    df = df.assign(name=names.mask(np.arange(len(df)) % 20 == 0))  # 5% missing
    df = df.assign(email=[f"{n.split()[0].lower()}.{n.split()[-1].lower()}{i % 97}@example.org"
                          for i, n in enumerate(names)])
    return df.drop(columns="fnlwgt")


def test_near_unique_text_is_never_copied_and_keeps_its_format(with_names, tiny_settings):
    df = with_names
    share = df["name"].nunique() / df["name"].notna().sum()
    assert 0.5 < share < 1  # near-unique: some names repeat
    with pytest.warns(UserWarning) as record:
        synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2 and re.match(r"column 'name' is treated as identifying text: \d+ of its 2850 values "
                                           r"are different \(more than 50%\)", messages[0])
    assert messages[1].startswith("column 'email' is treated as identifying text")
    kinds = {c.name: c.kind for c in synth.columns_}
    assert kinds == {"age": "numerical", "sex": "categorical", "occupation": "categorical", "name": "id",
                     "email": "id"}
    out = synth.sample(3000, random_state=0)
    for col in ("name", "email"):
        fake = out[col].dropna()
        assert set(fake).isdisjoint(df[col].dropna()), col  # no synthetic value is a real one
        assert set(fake.map(shape)) <= set(df[col].dropna().map(shape)), col  # in shapes seen in training
        assert fake.nunique() > 0.9 * len(fake), col
    assert out["name"].isna().mean() == pytest.approx(0.05, abs=0.02)  # missing at the real rate
    assert out["email"].str.fullmatch(r"[^\W\d_A-Z]+(-[^\W\d_A-Z]+)?\.[^\s@]+\d*@[^\W\d_A-Z]+\.[^\W\d_A-Z]+").all()
    assert out["name"].dropna().str.fullmatch(r"\S+ [A-Z]\. \S+( \S+)*").all()


def test_text_with_few_distinct_values_is_still_a_category(with_names, tiny_settings):
    df = with_names.assign(first=with_names["name"].str.split().str[0])[["age", "first"]]
    synth = TabSynthesizer(**tiny_settings, random_state=0).fit(df)
    assert synth.columns_[-1].kind == "categorical"
    assert set(synth.sample(200, random_state=0)["first"].dropna()) <= set(df["first"].dropna())
