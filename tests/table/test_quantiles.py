"""The one quantile grid and interpolation the normalizer and the distance space share."""

import numpy as np

from tabsyn.table.quantiles import quantile_grid, quantile_position
from tabsyn.table.rows import _to_uniform


def test_the_grid_has_at_most_one_quantile_per_value_and_never_steps_back(adult):
    x = adult["capital-gain"].to_numpy(dtype=float)
    references, quantiles = quantile_grid(x, 1000)
    assert len(references) == len(quantiles) == 1000 and references[0] == 0 and references[-1] == 1
    assert (np.diff(quantiles) >= 0).all() and quantiles[0] == x.min() and quantiles[-1] == x.max()
    assert len(quantile_grid(x[:7], 1000)[0]) == 7


def test_a_run_of_equal_quantiles_maps_to_its_middle():
    references, quantiles = quantile_grid(np.r_[np.zeros(60), np.arange(1, 41)], 101)
    u = quantile_position(np.array([0.0, 40.0, -5.0, 99.0]), quantiles, references)
    assert u[0] == 0.5 * references[quantiles == 0].max()  # the zeros: the middle of [0, 0.6]
    assert u.tolist()[1:] == [1.0, 0.0, 1.0]


def test_the_distance_space_reads_the_same_positions(adult):
    x = adult["age"].to_numpy(dtype=float)
    references, quantiles = quantile_grid(x, 1000)
    np.testing.assert_array_equal(_to_uniform(x[:100], quantiles), quantile_position(x[:100], quantiles, references))
    assert (_to_uniform(x[:3], quantiles[:1]) == 0.5).all()
