"""tabsyn: synthetic tables by latent diffusion (TabSyn), and an image DDPM.

Public names: TabSynthesizer, ImageDDPM, evaluate, load.

Each is imported on first use, so ``import tabsyn`` (and so ``import
tabsyn.evaluation`` or ``tabsyn.table``) does not pay for torch, sdmetrics and
both synthesizers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tabsyn._version import __version__

if TYPE_CHECKING:  # what type checkers and IDEs see
    from tabsyn.evaluation import evaluate
    from tabsyn.image.ddpm import ImageDDPM
    from tabsyn.persistence import load
    from tabsyn.tabular.synthesizer import TabSynthesizer

__all__ = ["ImageDDPM", "TabSynthesizer", "__version__", "evaluate", "load"]

# Public name -> the module defining it, imported when the name is first asked for.
_LAZY = {
    "ImageDDPM": "tabsyn.image.ddpm",
    "TabSynthesizer": "tabsyn.tabular.synthesizer",
    "evaluate": "tabsyn.evaluation",
    "load": "tabsyn.persistence",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'tabsyn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
