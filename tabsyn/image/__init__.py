"""The image backend: a class-conditional DDPM behind the same estimator interface.

Public names: ImageDDPM, save_grid, save_denoising_strip, read_idx, load_fashion_mnist.
"""

from tabsyn.image.ddpm import ImageDDPM
from tabsyn.image.idx import load_fashion_mnist, read_idx
from tabsyn.image.plots import save_denoising_strip, save_grid

__all__ = ["ImageDDPM", "save_grid", "save_denoising_strip", "read_idx", "load_fashion_mnist"]
