"""One ID column: :class:`KeyCodec` writes new keys in the training keys' format.

Keys say nothing about a row, so they are not modelled: decode writes a new
key for each row's position in the sample stream, never one seen in training.

- integer keys continue past the largest training key;
- "CUST-00042"-style keys keep their prefix and zero-padded width and continue
  past the largest number;
- free-format keys (UUIDs, hex digests) keep the characters allowed at each
  position (a UUID keeps its dashes, version digit and hex digits); the
  position goes through a bijective hash, so keys look random and never repeat.

This module never imports torch.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
import pandas as pd

from tabsyn.table.schema import ID, ColumnSpec
from tabsyn.tabular.codec.hashing import mix64, row_hashes

_ID_PATTERN = re.compile(r"^(.*?)(\d+)$")
_CHAR_CLASSES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class KeyCodec:
    """New keys for one ID column; see the module docstring.

    Parameters
    ----------
    spec : ColumnSpec
        The column (its label, kind and dtype).

    Attributes
    ----------
    format_ : str
        "int", "pattern" (prefix and digits) or "random" (characters per position).
    prefix_ : str or None
        "pattern": the text before the digits ("CUST-" for "CUST-00042").
    width_ : int
        "pattern": the zero-padded digit width; "random": the key length.
    start_ : int
        "int" / "pattern": the first new key number (past every training key);
        "random": the hash salt.
    template_ : list of str or None
        "random": the characters allowed at each position.
    """

    kind = ID
    state_fields = ("format_", "prefix_", "width_", "start_", "template_")

    def __init__(self, spec: ColumnSpec):
        self.spec = spec

    def fit(self, col: pd.Series) -> "KeyCodec":
        values = col.dropna()
        self.prefix_, self.template_ = None, None
        if pd.api.types.is_integer_dtype(col.dtype):
            self.format_, self.width_, self.start_ = "int", 0, int(values.max()) + 1
            return self
        strings = values.astype(str)
        matches = [_ID_PATTERN.match(s) for s in strings]
        if all(matches):
            prefixes = {m.group(1) for m in matches}
            if len(prefixes) == 1:
                self.format_, self.prefix_ = "pattern", prefixes.pop()
                self.width_ = max(len(m.group(2)) for m in matches)
                self.start_ = max(int(m.group(2)) for m in matches) + 1
                return self
        self.template_ = _template(strings)
        self.format_, self.width_ = "random", len(self.template_)
        self.start_ = zlib.crc32("|".join(self.template_).encode())
        return self

    def decode(self, positions: np.ndarray) -> pd.Series:
        """A new key for each stream position, in the column's dtype."""
        if self.format_ in ("int", "pattern"):
            numbers = positions.astype(object) + self.start_
            if self.format_ == "int":
                return pd.Series(numbers.astype(np.int64)).astype(self.spec.dtype)
            keys = [f"{self.prefix_}{k:0{self.width_}d}" for k in numbers]
            return pd.Series(keys, dtype=object).astype(self.spec.dtype)
        return pd.Series(keys_from_template(self.template_, positions, self.start_),
                         dtype=object).astype(self.spec.dtype)

    # -- plain state --------------------------------------------------------------
    def to_state(self) -> dict:
        return {"spec": self.spec.to_dict(), **{name.rstrip("_"): getattr(self, name) for name in self.state_fields}}

    @classmethod
    def from_state(cls, state: dict) -> "KeyCodec":
        obj = cls(ColumnSpec(**state["spec"]))
        for name in cls.state_fields:
            setattr(obj, name, state[name.rstrip("_")])
        return obj


def _template(strings: pd.Series) -> list[str]:
    """The characters allowed at each position of free-format keys.

    Keys of one length keep every fixed character and widen each varying one
    to its character classes (hex digits when the letters are all a-f); keys
    of varying length get the median length (at least 8) over every class seen.
    """
    chars = set("".join(strings))
    classes = [c for c in _CHAR_CLASSES if chars & set(c)] or [_CHAR_CLASSES[1]]
    lengths = strings.str.len()
    if lengths.nunique() != 1:
        alphabet = "".join(sorted(set().union(*(_hex_or_all(c, chars) for c in classes))))
        return [alphabet] * max(int(np.median(lengths)), 8)
    template = []
    for i in range(int(lengths.iloc[0])):
        seen = {s[i] for s in strings}
        if len(seen) == 1:
            template.append(seen.pop())
            continue
        alphabet = set(seen)
        for cls in _CHAR_CLASSES:
            if seen & set(cls):
                alphabet |= set(_hex_or_all(cls, chars))
        template.append("".join(sorted(alphabet)))
    return template


def _hex_or_all(cls: str, chars: set) -> str:
    """A letter class narrowed to hex digits when the column's letters of that case are all a-f."""
    if cls[0] in "aA" and chars & set(cls) <= set(cls[:6]):
        return cls[:6]
    return cls


def keys_from_template(template: list[str], positions: np.ndarray, salt: int) -> list[str]:
    """Keys for the stream ``positions``, one character from each position's alphabet.

    The position number goes through a bijective hash and is written in the
    mixed radix of the alphabets (last position first), so keys look random and,
    once the alphabets hold 2**64 combinations, never repeat.
    """
    base = row_hashes(positions, salt)
    n = len(positions)
    h, stream, capacity = base.copy(), 0, 1
    digits = [None] * len(template)
    for i in range(len(template) - 1, -1, -1):
        alphabet = np.array(list(template[i]))
        a = len(alphabet)
        if a == 1:
            digits[i] = np.full(n, template[i])
            continue
        digits[i] = alphabet[(h % np.uint64(a)).astype(np.int64)]
        h //= np.uint64(a)
        capacity *= a
        if capacity >= 2**64:  # this hash is spent: continue with a fresh one
            stream += 1
            h, capacity = mix64(base ^ np.uint64(stream * 0x9E3779B97F4A7C15 % 2**64)), 1
    return ["".join(row) for row in zip(*digits)] if digits else [""] * n
