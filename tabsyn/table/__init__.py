"""Facts about a table that every part of tabsyn reads: no torch, no synthesizer.

- :mod:`~tabsyn.table.schema`: each column's kind (numerical, categorical,
  datetime, ID-like), inferred from a DataFrame.
- :mod:`~tabsyn.table.rows`: row keys (exact-copy checks) and the distance
  space of nearest-row distances (DCR).
- :mod:`~tabsyn.table.guard`: the privacy guard built on both.

The tabular model (:mod:`tabsyn.tabular`) and the evaluation
(:mod:`tabsyn.evaluation`) import this layer; it imports neither.
"""
