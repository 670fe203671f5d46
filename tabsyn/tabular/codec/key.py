"""One ID column: :class:`KeyCodec` writes new values in the training values' format.

ID columns (keys, and identifying text such as names or e-mail addresses; see
:mod:`tabsyn.table.schema`) say nothing about a row that a model should learn,
and copying them would leak them, so they are not modelled: decode writes a new
value for each row's position in the sample stream, never one seen in training.

- ``"int"``: integer keys continue past the largest training key, and once the
  dtype has no room left there, below the smallest (a uint64 key near 2**64
  fits); a dtype with no room left at all is a clear error naming the column;
- ``"pattern"``: "CUST-00042"-style keys keep their prefix and zero-padded width
  and continue past the largest number;
- ``"random"``: values of one length (UUIDs, hex digests, fixed-width codes) keep
  the characters allowed at each position (a UUID keeps its dashes, version
  digit and hex digits); the position goes through a bijective hash, so values
  look random;
- ``"text"``: values of varying length (names, addresses, e-mail addresses, free
  text) keep their shapes: each character is a class slot (upper- or lower-case
  letter, other letter, digit) or a literal (spaces, punctuation), so
  "Mary-Ann Smith" has the shape ``Aaaa-Aaa Aaaaa``. A new value takes a shape
  drawn from the training shapes' distribution (the ``MAX_SHAPES`` most
  frequent) and, in each class slot, a character drawn from that class's
  training frequencies.

``"random"`` and ``"text"`` values are checked against 64-bit keyed hashes of
the training values (the codec holds no value itself) and redrawn until none
is a training value (a "text" redraw widens its alphabets after 8 and 16
tries, so short formats whose values are mostly taken still find new ones).
Missing values come back at the training rate. New values are functions of
the stream position only; short formats (a few characters) can repeat among
new values, as they repeat among real ones.

This module never imports torch.
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np
import pandas as pd

from tabsyn.table.schema import ID, ColumnSpec
from tabsyn.tabular.codec.hashing import mix64, row_hashes
from tabsyn.tabular.codec.numeric import numpy_dtype

_ID_PATTERN = re.compile(r"^(.*?)(\d+)$")
_CHAR_CLASSES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# "text" shapes: a class slot is one of these (private-use) characters; anything else is literal.
DIGIT, UPPER, LOWER, LETTER = "\ue000", "\ue001", "\ue002", "\ue003"
SLOTS = (DIGIT, UPPER, LOWER, LETTER)
MAX_SHAPES = 1000     # "text": shapes kept (the most frequent)
MAX_ATTEMPTS = 64     # redraws of a value equal to a training value before giving up
_GOLDEN = 0x9E3779B97F4A7C15


class KeyCodec:
    """New values for one ID column; see the module docstring.

    Parameters
    ----------
    spec : ColumnSpec
        The column (its label, kind and dtype).

    Attributes
    ----------
    format_ : str
        "int", "pattern" (prefix and digits), "random" (characters per position) or
        "text" (shapes of character runs).
    prefix_ : str or None
        "pattern": the text before the digits ("CUST-" for "CUST-00042").
    width_ : int
        "pattern": the zero-padded digit width; "random": the value length.
    start_ : int
        "int" / "pattern": the first new key number (past every training key);
        "random" / "text": the hash salt.
    low_ : int or None
        "int": the smallest training key (new keys go below it once there is no room above).
    template_ : list of str or None
        "random": the characters allowed at each position.
    shapes_, shape_weights_ : list or None
        "text": the shapes (class slots and literal characters) and their frequencies.
    alphabets_ : dict or None
        "text": per class slot, [characters, their frequencies].
    seen_ : ndarray of int64 or None
        "random" / "text": the keyed hashes of the training values, sorted.
    missing_rate_ : float
        The share of training values that were missing.
    """

    kind = ID
    state_fields = ("format_", "prefix_", "width_", "start_", "template_")
    optional_fields = {"low_": None, "shapes_": None, "shape_weights_": None, "alphabets_": None, "seen_": None,
                       "missing_rate_": 0.0}  # added later: older model files lack them

    def __init__(self, spec: ColumnSpec):
        self.spec = spec

    def fit(self, col: pd.Series) -> "KeyCodec":
        values = col.dropna()
        self.prefix_, self.template_, self.low_ = None, None, None
        self.shapes_ = self.shape_weights_ = self.alphabets_ = self.seen_ = None
        self.missing_rate_ = float(col.isna().mean()) if len(col) else 0.0
        if pd.api.types.is_integer_dtype(col.dtype):
            keys = [int(v) for v in values]
            self.format_, self.width_ = "int", 0
            self.start_, self.low_ = max(keys) + 1, min(keys)
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
        if strings.str.len().nunique() == 1:
            self.template_ = _template(strings)
            self.format_, self.width_ = "random", len(self.template_)
            self.start_ = zlib.crc32("|".join(self.template_).encode())
        else:
            self.shapes_, self.shape_weights_, self.alphabets_ = _shapes(strings)
            self.format_, self.width_ = "text", 0
            self.start_ = zlib.crc32("|".join(self.shapes_[:50]).encode())
        self.seen_ = np.sort(value_hashes(strings.tolist(), self.start_).view(np.int64))
        return self

    def decode(self, positions: np.ndarray) -> pd.Series:
        """A new value for each stream position, in the column's dtype (missing at the training rate)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.format_ == "int":
            out = pd.Series(self._int_keys(positions)).astype(self.spec.dtype)
        else:
            if self.format_ == "pattern":
                keys = [f"{self.prefix_}{k:0{self.width_}d}" for k in positions.astype(object) + self.start_]
            else:
                keys = self._fresh_strings(positions)
            out = pd.Series(keys, dtype=object)
        if self.missing_rate_ > 0:
            u = (row_hashes(positions, self.start_ ^ 0x5851F42D4C957F2D) >> np.uint64(11)) * 2.0**-53
            out = out.astype(object).mask(u < self.missing_rate_)
        return out.astype(self.spec.dtype)

    def _int_keys(self, positions: np.ndarray) -> np.ndarray:
        """Past the largest training key while the dtype has room, then down from the smallest."""
        dtype = numpy_dtype(pd.api.types.pandas_dtype(self.spec.dtype))
        info = np.iinfo(dtype)
        low = self.start_ - 1 if self.low_ is None else self.low_
        above = max(info.max - self.start_ + 1, 0)   # new keys past the largest training key
        below = max(low - info.min, 0) if self.low_ is not None else 0
        p = [int(v) for v in positions]
        if p and max(p) >= above + below:
            raise ValueError(
                f"column {self.spec.name!r}: its {dtype} keys leave room for {above + below} new keys outside the "
                f"training keys ({low} to {self.start_ - 1}), but the sample stream has reached row {max(p)}; "
                f"cast the column to a wider integer type before fit, e.g. df[{self.spec.name!r}].astype('int64')"
                if dtype.itemsize < 8 else
                f"column {self.spec.name!r}: its {dtype} keys leave room for {above + below} new keys outside the "
                f"training keys ({low} to {self.start_ - 1}), but the sample stream has reached row {max(p)}")
        return np.array([self.start_ + k if k < above else low - 1 - (k - above) for k in p], dtype=dtype)

    def _fresh_strings(self, positions: np.ndarray) -> list[str]:
        """"random" / "text" values, each redrawn (a function of position and attempt) while it is a training value."""
        out = np.empty(len(positions), dtype=object)
        todo = np.arange(len(positions))
        for attempt in range(MAX_ATTEMPTS):
            salt = (self.start_ + attempt * _GOLDEN) % 2**64
            if self.format_ == "random":
                values = keys_from_template(self.template_, positions[todo], salt)
            else:
                values = text_from_shapes(self.shapes_, self.shape_weights_, widened(self.alphabets_, attempt),
                                          positions[todo], salt)
            out[todo] = values
            hashes = value_hashes(values, self.start_).view(np.int64)
            seen = np.isin(hashes, self.seen_) if self.seen_ is not None else np.zeros(len(todo), bool)
            todo = todo[seen]
            if not len(todo):
                return out.tolist()
        raise ValueError(
            f"column {self.spec.name!r}: after {MAX_ATTEMPTS} draws, {len(todo)} new values still equal training "
            f"values; the training values use up nearly every value of their format")

    # -- plain state --------------------------------------------------------------
    def to_state(self) -> dict:
        fields = self.state_fields + tuple(self.optional_fields)
        return {"spec": self.spec.to_dict(), **{name.rstrip("_"): getattr(self, name) for name in fields}}

    @classmethod
    def from_state(cls, state: dict) -> "KeyCodec":
        obj = cls(ColumnSpec(**state["spec"]))
        for name in cls.state_fields:
            setattr(obj, name, state[name.rstrip("_")])
        for name, default in cls.optional_fields.items():
            setattr(obj, name, state.get(name.rstrip("_"), default))
        if obj.seen_ is not None:
            obj.seen_ = np.asarray(obj.seen_, dtype=np.int64)
        return obj


def value_hashes(values: list[str], salt: int) -> np.ndarray:
    """A keyed 64-bit hash (BLAKE2b) of each string, as uint64."""
    key = int(salt % 2**64).to_bytes(8, "little")
    return np.array([int.from_bytes(hashlib.blake2b(v.encode("utf-8", "surrogatepass"), digest_size=8,
                                                    key=key).digest(), "little") for v in values], dtype=np.uint64)


def _template(strings: pd.Series) -> list[str]:
    """The characters allowed at each position of values of one length.

    Every fixed character is kept and each varying one is widened to its
    character classes (hex digits when the letters are all a-f).
    """
    chars = set("".join(strings))
    template = []
    for i in range(int(strings.str.len().iloc[0])):
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


def char_slot(c: str) -> str:
    """The class slot of a character (DIGIT, UPPER, LOWER, LETTER), or the character itself."""
    if "0" <= c <= "9":
        return DIGIT
    if c.isalpha() or c in SLOTS:
        return UPPER if c.isupper() else LOWER if c.islower() else LETTER
    return c


def shape(value: str) -> str:
    """``"Mary-Ann 2"`` -> its class slots and literal characters (``UllllUll D`` in slot characters)."""
    return "".join(char_slot(c) for c in value)


def _shapes(strings: pd.Series) -> tuple[list[str], list[float], dict]:
    """The ``MAX_SHAPES`` most frequent shapes and their frequencies; per class slot, characters and frequencies."""
    shapes = strings.map(shape).value_counts()  # most frequent first, ties in a stable order
    shapes = shapes.iloc[:MAX_SHAPES]
    weights = (shapes.to_numpy(np.float64) / shapes.sum()).tolist()
    counts: dict[str, dict[str, int]] = {}
    for value in strings:
        for c in value:
            slot = char_slot(c)
            if slot in SLOTS:
                counts.setdefault(slot, {}).setdefault(c, 0)
                counts[slot][c] += 1
    alphabets = {}
    for slot, chars in counts.items():
        letters = sorted(chars)
        total = sum(chars.values())
        alphabets[slot] = ["".join(letters), [chars[c] / total for c in letters]]
    return list(shapes.index), weights, alphabets


_SLOT_CLASSES = {DIGIT: _CHAR_CLASSES[0], LOWER: _CHAR_CLASSES[1], UPPER: _CHAR_CLASSES[2]}


def widened(alphabets: dict, attempt: int) -> dict:
    """The alphabets a redraw uses: the seen characters by frequency, then (from the 9th draw) uniformly,
    then (from the 17th) with the whole ASCII class of each slot added, so short formats find new values."""
    if attempt < 8:
        return alphabets
    out = {}
    for slot, (chars, _) in alphabets.items():
        if attempt >= 16:
            chars = "".join(sorted(set(chars) | set(_SLOT_CLASSES.get(slot, ""))))
        out[slot] = [chars, [1.0 / len(chars)] * len(chars)]
    return out


def _uniforms(h: np.ndarray) -> np.ndarray:
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def text_from_shapes(shapes: list[str], weights: list[float], alphabets: dict, positions: np.ndarray,
                     salt: int) -> list[str]:
    """A value per stream position: a shape drawn by frequency, each class slot a character of its class."""
    base = row_hashes(positions, salt)
    cdf = np.cumsum(weights)
    picks = np.minimum(np.searchsorted(cdf / cdf[-1], _uniforms(base), side="right"), len(shapes) - 1)
    tables = {slot: (np.array(list(chars)), np.cumsum(w) / np.sum(w)) for slot, (chars, w) in alphabets.items()}
    out = np.empty(len(positions), dtype=object)
    for k in np.unique(picks):
        rows = np.flatnonzero(picks == k)
        columns = []
        for i, c in enumerate(shapes[k]):
            if c in tables:
                chars, ccdf = tables[c]
                u = _uniforms(mix64(base[rows] ^ np.uint64((i + 1) * _GOLDEN % 2**64)))
                columns.append(chars[np.minimum(np.searchsorted(ccdf, u, side="right"), len(chars) - 1)])
            else:
                columns.append(np.full(len(rows), c))
        out[rows] = ["".join(r) for r in zip(*columns)] if columns else [""] * len(rows)
    return out.tolist()


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
            h, capacity = mix64(base ^ np.uint64(stream * _GOLDEN % 2**64)), 1
    return ["".join(row) for row in zip(*digits)] if digits else [""] * n
