"""Values as a user gives them: what counts as missing, how a value is shown, how a problem reads.

Shared by every column codec's encoding of known values (conditions, cells to
keep) and by the table codec, so that each message names the column, the
values received and what would be accepted, in the same words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class KnownValueError(ValueError):
    """A known value (a condition, a cell to keep) the fitted model cannot take."""


def is_missing(v: object) -> bool:
    """None, NaN, NaT, pd.NA; False for anything ``pd.isna`` cannot judge (a list, say)."""
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def is_hashable(v: object) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def show(v: object) -> str:
    """A value as a user would write it: 'Female', 40, Timestamp('2020-01-01')."""
    v = v.item() if isinstance(v, np.generic) else v
    return repr(v)


def listed(labels) -> str:
    """``['a', 'b']``, or the first 20 labels and how many there are in all."""
    labels = list(labels)
    return repr(labels[:20])[:-1] + (f", ... ({len(labels)} in all)]" if len(labels) > 20 else "]")


def problem(column: object, bad: list[str], what: str, accepted: str) -> str:
    """``column 'age': 200, 300 outside what training saw; accepted: values from 17 to 90``."""
    more = " ..." if len(bad) > 5 else ""
    return f"column {column!r}: {', '.join(bad[:5])}{more} {what}; {accepted}"


def unique(items: list[str]) -> list[str]:
    """``items`` without repeats, in first-seen order."""
    return list(dict.fromkeys(items))
