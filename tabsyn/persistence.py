"""Model files that hold plain data only, and a loader that refuses anything else.

A tabsyn model file is written with ``torch.save`` and read back with
``torch.load(weights_only=True)``: PyTorch's restricted unpickler, which builds
tensors, numbers, strings, lists, tuples and dicts and refuses every other
global. A crafted file therefore cannot run code through :func:`load`.

The file's payload is::

    {"format": "tabsyn", "format_version": 1, "class": "TabSynthesizer",
     "tabsyn_version": "...", "library_versions": {...}, "state": {...}}

NumPy arrays inside ``state`` are stored as tensors wrapped in a one-key dict
(``{"__ndarray__": tensor}``) and turned back into arrays on load.
"""

from __future__ import annotations

import importlib
import os
import pickle
import warnings
from typing import Any

import numpy as np
import torch

from tabsyn._version import __version__

FORMAT = "tabsyn"
FORMAT_VERSION = 1

# Class name stored in a file -> where the class lives. Only these load.
_CLASSES = {
    "TabSynthesizer": "tabsyn.tabular.synthesizer:TabSynthesizer",
    "ImageDDPM": "tabsyn.image.ddpm:ImageDDPM",
}


class ModelFileError(ValueError):
    """A file is not a tabsyn model file, or holds something it may not."""


class VersionMismatchWarning(UserWarning):
    """A model file was written by another tabsyn version."""


def encode(obj: Any) -> Any:
    """Turn NumPy arrays and scalars into values ``torch.load(weights_only=True)`` accepts."""
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError("object arrays cannot be stored in a tabsyn model file")
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(obj))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(encode(v) for v in obj)
    return obj


def decode(obj: Any) -> Any:
    """Inverse of :func:`encode`."""
    if isinstance(obj, dict):
        if set(obj) == {"__ndarray__"}:
            return obj["__ndarray__"].numpy()
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(decode(v) for v in obj)
    return obj


def library_versions() -> dict[str, str]:
    import pandas
    import sklearn

    return {
        "tabsyn": __version__,
        "torch": str(torch.__version__),  # a str subclass the safe loader would refuse
        "numpy": str(np.__version__),
        "pandas": str(pandas.__version__),
        "scikit-learn": str(sklearn.__version__),
    }


def save(estimator: Any, path: str | os.PathLike) -> None:
    """Write ``estimator`` (a fitted or unfitted tabsyn estimator) to ``path``."""
    name = type(estimator).__name__
    if name not in _CLASSES:
        raise TypeError(f"cannot save a {name}; tabsyn saves {sorted(_CLASSES)}")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": name,
        "tabsyn_version": __version__,
        "library_versions": library_versions(),
        "state": encode(estimator._to_state()),
    }
    torch.save(payload, os.fspath(path))


def load(path: str | os.PathLike) -> Any:
    """Load a model written by ``save``; refuses any file holding more than plain data.

    Safe for files from others: nothing in the file is executed. (Files written
    with ``joblib.dump`` are pickles; open those only if you trust their source.)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    try:
        with warnings.catch_warnings():
            # A foreign pickle is refused below; torch's note about its protocol is noise.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModelFileError(
            f"{path!r} holds objects other than plain data (tensors, numbers, strings, "
            f"lists, dicts), so it was not loaded; tabsyn.load opens only files written "
            f"by TabSynthesizer.save / ImageDDPM.save. Detail: {str(exc).splitlines()[0]}"
        ) from None
    except Exception as exc:  # not a torch archive at all
        raise ModelFileError(
            f"{path!r} is not a tabsyn model file (written by .save()); reading it failed "
            f"with {type(exc).__name__}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path!r} is not a tabsyn model file (written by .save())")
    name = payload.get("class")
    if name not in _CLASSES:
        raise ModelFileError(
            f"{path!r} names class {name!r}; tabsyn loads only {sorted(_CLASSES)}"
        )
    if payload.get("tabsyn_version") != __version__:
        warnings.warn(
            f"{path!r} was written by tabsyn {payload.get('tabsyn_version')}; this is "
            f"tabsyn {__version__}. It may load and sample differently.",
            VersionMismatchWarning,
            stacklevel=2,
        )
    module_name, cls_name = _CLASSES[name].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls._from_state(decode(payload["state"]))
