"""KeyCodec: new keys in the training keys' format, never a training key, state."""

import uuid

import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import ColumnSpec
from tabsyn.tabular.codec import KeyCodec


def fitted(col: pd.Series) -> KeyCodec:
    spec = ColumnSpec("k", "id", str(col.dtype), 0, int(col.nunique()))
    return KeyCodec(spec).fit(col)


def uuids(n, seed=0):
    rng = np.random.default_rng(seed)
    return pd.Series([str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)])


def test_patterned_and_integer_keys_continue_past_the_largest():
    patterned = fitted(pd.Series([f"CUST-{i:05d}" for i in range(30)]))
    integers = fitted(pd.Series(np.arange(1, 31)))
    positions = np.arange(4) + 2
    assert patterned.decode(positions).tolist() == ["CUST-00032", "CUST-00033", "CUST-00034", "CUST-00035"]
    assert integers.decode(positions).tolist() == [33, 34, 35, 36]
    assert (patterned.format_, patterned.prefix_, patterned.width_) == ("pattern", "CUST-", 5)
    assert set(patterned.decode(np.arange(100))).isdisjoint(f"CUST-{i:05d}" for i in range(30))


def test_free_format_keys_keep_their_shape_and_never_repeat():
    keys = uuids(40)
    codec = fitted(keys)
    out = pd.concat([codec.decode(np.arange(40) + k * 40) for k in range(50)])
    assert out.str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}").all()
    assert out.is_unique and set(out).isdisjoint(keys)


def test_keys_of_varying_length_use_the_characters_seen():
    keys = pd.Series([f"{i * 7919:X}{'-' * (i % 3)}" for i in range(30)])  # uppercase hex and dashes, lengths vary
    out = fitted(keys).decode(np.arange(30))
    assert out.str.fullmatch(r"[0-9A-F]{8}").all() and out.is_unique


def test_a_key_depends_on_its_position_only():
    codec = fitted(uuids(30))
    whole = codec.decode(np.arange(100))
    np.testing.assert_array_equal(codec.decode(np.arange(50, 100)), whole[50:])


@pytest.mark.parametrize(
    "keys",
    [pd.Series(np.arange(5, 35)), pd.Series([f"id{i:03d}" for i in range(30)]), uuids(30)],
    ids=["int", "pattern", "random"],
)
def test_state_round_trip_is_exact(keys):
    codec = fitted(keys)
    again = KeyCodec.from_state(codec.to_state())
    assert again.to_state() == codec.to_state()
    pd.testing.assert_series_equal(again.decode(np.arange(7, 40)), codec.decode(np.arange(7, 40)))
