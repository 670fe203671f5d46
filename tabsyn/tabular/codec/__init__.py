"""The table codec: DataFrame <-> the model's arrays, one column codec per column kind.

- :mod:`~tabsyn.tabular.codec.table`: :class:`TableCodec`, composing the column
  codecs into ``(x_num, x_cat)`` and back, and encoding known cells;
- :mod:`~tabsyn.tabular.codec.numeric`: :class:`NumericCodec` and its
  :class:`QuantileNormalizer`;
- :mod:`~tabsyn.tabular.codec.datetimes`: :class:`DatetimeCodec`;
- :mod:`~tabsyn.tabular.codec.categorical`: :class:`CategoricalCodec`;
- :mod:`~tabsyn.tabular.codec.key`: :class:`KeyCodec` (new keys for ID columns);
- :mod:`~tabsyn.tabular.codec.values` and :mod:`~tabsyn.tabular.codec.hashing`:
  what the codecs share (known-value checks and messages; per-row draws).

Every column codec has ``fit``, ``encode``, ``decode``, ``to_state`` and
``from_state``; value codecs also ``encode_known``. This package never imports torch.
"""

from tabsyn.tabular.codec.categorical import MAX_CATEGORIES, CategoricalCodec
from tabsyn.tabular.codec.datetimes import DatetimeCodec
from tabsyn.tabular.codec.key import KeyCodec
from tabsyn.tabular.codec.numeric import NumericCodec, QuantileNormalizer
from tabsyn.tabular.codec.table import EncodedKnown, TableCodec
from tabsyn.tabular.codec.values import KnownValueError

__all__ = ["MAX_CATEGORIES", "CategoricalCodec", "DatetimeCodec", "EncodedKnown", "KeyCodec",
           "KnownValueError", "NumericCodec", "QuantileNormalizer", "TableCodec"]
