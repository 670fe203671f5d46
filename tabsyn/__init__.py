"""tabsyn: synthetic tables by latent diffusion (TabSyn), and an image DDPM.

Public names: TabSynthesizer, ImageDDPM, evaluate, load.
"""

from tabsyn._version import __version__
from tabsyn.evaluation import evaluate
from tabsyn.image.ddpm import ImageDDPM
from tabsyn.persistence import load
from tabsyn.tabular.synthesizer import TabSynthesizer

__all__ = ["ImageDDPM", "TabSynthesizer", "__version__", "evaluate", "load"]
