"""tabsyn: synthetic tables by latent diffusion (TabSyn), and an image DDPM.

Public names: TabSynthesizer, ImageDDPM, evaluate, load.
"""

from tabsyn._version import __version__
from tabsyn.image.ddpm import ImageDDPM
from tabsyn.persistence import load
from tabsyn.tabular.synthesizer import TabSynthesizer

__all__ = ["ImageDDPM", "TabSynthesizer", "__version__", "evaluate", "load"]


def __getattr__(name: str):
    # evaluate brings sdmetrics and plotly (about a second to import): load them on first use.
    if name == "evaluate":
        from tabsyn.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'tabsyn' has no attribute {name!r}")
