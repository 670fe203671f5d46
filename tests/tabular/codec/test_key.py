"""KeyCodec: new keys in the training keys' format, never a training key, state."""

import uuid

import numpy as np
import pandas as pd
import pytest

from tabsyn.table.schema import ColumnSpec
from tabsyn.tabular.codec import KeyCodec
from tabsyn.tabular.codec.key import shape


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


def test_keys_of_varying_length_keep_their_shapes_and_the_characters_seen():
    keys = pd.Series([f"{i * 7919:X}{'-' * (i % 3)}" for i in range(30)])  # uppercase hex and dashes, lengths vary
    codec = fitted(keys)
    out = codec.decode(np.arange(300))
    assert codec.format_ == "text"
    assert out.str.fullmatch(r"[0-9A-F]+-{0,2}").all() and set(out).isdisjoint(keys)
    assert set(out.map(shape)) <= set(keys.map(shape))


def test_sixty_thousand_names_give_new_names_in_their_shapes_never_a_real_one():
    rng = np.random.default_rng(0)
    first = np.array(["Mary", "John", "Ann-Marie", "Li", "José", "Robert", "Zoë", "Al", "Wei", "Ngozi"])
    last = np.array(["Smith", "O'Neil", "García", "van Dijk", "Okafor", "Ng", "Kowalski", "Brown"])
    names = pd.Series([f"{f} {chr(65 + m)}. {la}" for f, m, la in zip(
        rng.choice(first, 60_000), rng.integers(0, 26, 60_000), rng.choice(last, 60_000))])
    names = pd.Series([f"{n} {i % 1000}" if i % 3 else n for i, n in enumerate(names)])  # most distinct
    assert 0.5 < names.nunique() / len(names) < 1
    codec = fitted(names)
    out = codec.decode(np.arange(60_000))
    assert set(out).isdisjoint(names) and set(out.map(shape)) <= set(names.map(shape))
    assert codec.seen_.dtype == np.int64 and len(codec.seen_) == len(names)
    again = KeyCodec.from_state(codec.to_state())
    pd.testing.assert_series_equal(again.decode(np.arange(500, 900)), out[500:900].reset_index(drop=True))


def test_a_short_format_never_gives_a_training_value():
    keys = pd.Series([f"{a}{b}" for a in "abcdefgh" for b in "0123456789"][:70] + ["z"])  # 2 characters, most used
    out = fitted(keys).decode(np.arange(500))
    assert set(out).isdisjoint(keys)


def test_missing_values_come_back_at_the_training_rate():
    keys = uuids(400).mask(np.arange(400) % 4 == 0)
    out = fitted(keys).decode(np.arange(4000))
    assert out.isna().mean() == pytest.approx(0.25, abs=0.03)
    assert out.dropna().str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}").all()


@pytest.mark.parametrize("dtype", ["uint64", "UInt64", "int64", "Int64"])
def test_integer_keys_at_the_top_of_their_dtype_continue_below_the_smallest(dtype):
    top = np.iinfo(np.dtype(dtype.lower())).max
    keys = pd.Series(np.array([top - 3 * i for i in range(30)], dtype=dtype.lower()), dtype=dtype)
    out = fitted(keys).decode(np.arange(40))
    assert out.dtype == keys.dtype and out.is_unique and set(out).isdisjoint(keys)
    assert out.max() == top - 1 or out.max() < keys.min()  # room above the largest key is filled first
    assert (out < keys.min()).sum() >= 39


def test_integer_keys_without_room_left_say_so_naming_the_column():
    codec = fitted(pd.Series(np.arange(-128, 128), dtype="int8"))
    with pytest.raises(ValueError, match=r"^column 'k': its int8 keys leave room for 0 new keys outside the "
                                         r"training keys \(-128 to 127\), but the sample stream has reached row 0; "
                                         r"cast the column to a wider integer type"):
        codec.decode(np.arange(1))


def test_a_key_depends_on_its_position_only():
    codec = fitted(uuids(30))
    whole = codec.decode(np.arange(100))
    np.testing.assert_array_equal(codec.decode(np.arange(50, 100)), whole[50:])


@pytest.mark.parametrize(
    "keys",
    [pd.Series(np.arange(5, 35)), pd.Series([f"id{i:03d}" for i in range(30)]), uuids(30),
     pd.Series([f"{'ab' * (i % 4 + 1)} {i}" for i in range(30)]).mask(np.arange(30) % 7 == 0)],
    ids=["int", "pattern", "random", "text"],
)
def test_state_round_trip_is_exact(keys):
    codec = fitted(keys)
    again = KeyCodec.from_state(codec.to_state())
    assert again.to_state() == codec.to_state()
    pd.testing.assert_series_equal(again.decode(np.arange(7, 40)), codec.decode(np.arange(7, 40)))
