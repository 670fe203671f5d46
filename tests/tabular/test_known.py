"""The estimator's known-cell arguments: conditions, frames of known columns, restoring known values."""

import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import infer_schema
from tabsyn.tabular.known import KnownCells, KnownValueError, check_known_frame, conditions_frame


@pytest.fixture()
def specs(mixed_table):
    return infer_schema(mixed_table)


def test_conditions_become_a_one_row_frame_in_column_order(specs):
    frame = conditions_frame({"text": "u", "num": 2.5}, specs)
    assert frame.columns.tolist() == ["num", "text"] and frame.iloc[0].tolist() == [2.5, "u"]


def test_conditions_report_every_problem_together(specs):
    with pytest.raises(KnownValueError, match=r"^conditions: no column named 'nope'; the columns are \['num', "
                                              r".*; conditions take one value per column, but 'num' got list; .*; "
                                              r"'key' holds IDs, which are generated anew for every row; "
                                              r"it cannot be a condition$"):
        conditions_frame({"nope": 1, "num": [1, 2], "key": "id001"}, specs)
    with pytest.raises(TypeError, match=r"conditions must be a dict \{column: value\}; got list"):
        conditions_frame([("num", 1)], specs)


def test_a_known_frame_is_checked_and_put_in_column_order(specs, mixed_table):
    frame = check_known_frame(mixed_table[["text", "num"]].set_axis(range(5, 45)), specs,
                              argument="known", all_columns=False)
    assert frame.columns.tolist() == ["num", "text"] and frame.index.tolist() == list(range(40))
    with pytest.raises(KnownValueError, match=r"^data: columns \['num', 'code', 'when', 'key'\] are missing; "):
        check_known_frame(mixed_table[["text"]], specs, argument="data", all_columns=True)
    with pytest.raises(KnownValueError, match=r"^known: it has no rows; columns \['zz'\] are not in the table"):
        check_known_frame(pd.DataFrame({"zz": []}), specs, argument="known", all_columns=False)


def test_known_cells_restore_exactly_the_given_values(mixed_table):
    values = mixed_table[["num", "text"]].head(4).copy()
    cells = np.array([[True, False], [False, True], [True, True], [False, False]])
    known = KnownCells(np.zeros((4, 1)), np.zeros((4, 1), bool), values, cells)
    generated = mixed_table.iloc[10:14].reset_index(drop=True)
    out = known.restore(generated.copy())
    assert out["num"].tolist() == [values["num"][0], generated["num"][1], values["num"][2], generated["num"][3]]
    assert out["text"].tolist() == [generated["text"][0], values["text"][1], values["text"][2], generated["text"][3]]
    part = known.take(np.array([2]))
    assert part.cells.tolist() == [[True, True]] and part.values.index.tolist() == [0]
