"""Model files that hold plain data only, and a loader that refuses anything else.

A tabsyn model file is written with ``torch.save`` and read back with
``torch.load(weights_only=True)``: PyTorch's restricted unpickler, which builds
tensors, numbers, strings, lists, tuples and dicts and refuses every other
global. A crafted file therefore cannot run code through :func:`load`.

The file's payload is::

    {"format": "tabsyn", "format_version": 2, "class": "TabSynthesizer",
     "tabsyn_version": "...", "library_versions": {...}, "state": {...}}

NumPy arrays inside ``state`` are stored as tensors wrapped in a one-key dict
(``{"__ndarray__": tensor}``) and turned back into arrays on load.

Which classes load: every estimator class registers itself here when it is
defined (``BaseSynthesizer.__init_subclass__`` calls :func:`register`), under its
class name, which is what a file stores. :func:`load` imports the modules that
define tabsyn's estimators first, so their classes are registered; a file naming
any other class is refused.
"""

from __future__ import annotations

import importlib
import os
import pickle
import re
import warnings
from typing import Any

import numpy as np
import torch

from tabsyn._version import __version__

FORMAT = "tabsyn"
# The layout of "state". 2: the tabular model's state is the fitted TabularModel's.
# Files of another format version are refused (:func:`load` says which tabsyn wrote them).
FORMAT_VERSION = 2

# Modules whose import defines (and so registers) tabsyn's estimators.
_ESTIMATOR_MODULES = ("tabsyn.tabular.synthesizer", "tabsyn.image.ddpm")

# Class name stored in a file -> the class; filled by register().
_REGISTRY: dict[str, type] = {}


class ModelFileError(ValueError):
    """A file is not a tabsyn model file, or holds something it may not."""


class VersionMismatchWarning(UserWarning):
    """A model file was written by another tabsyn version."""


def register(cls: type) -> type:
    """Let :func:`save` write ``cls`` and :func:`load` rebuild it from files naming it.

    ``cls`` needs ``_to_state`` and a classmethod ``_from_state``. Returns ``cls``,
    so this also works as a class decorator. Registering a class again under the
    same module and name (a reloaded module) replaces it; another class of the
    same name is refused, as files could not tell the two apart.
    """
    name = cls.__name__
    known = _REGISTRY.get(name)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise TypeError(
            f"cannot register {cls.__module__}.{cls.__qualname__} for tabsyn model files: "
            f"{known.__module__}.{known.__qualname__} is registered under the same name {name!r}; "
            f"rename one of them"
        )
    _REGISTRY[name] = cls
    return cls


def registered() -> dict[str, type]:
    """Class name -> class, for every class :func:`load` can rebuild (tabsyn's estimators imported)."""
    for module in _ESTIMATOR_MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


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
    if _REGISTRY.get(name) is not type(estimator):
        raise TypeError(f"cannot save a {name}; tabsyn saves {sorted(registered())}")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": name,
        "tabsyn_version": __version__,
        "library_versions": library_versions(),
        "state": encode(estimator._to_state()),
    }
    torch.save(payload, os.fspath(path))


def _unpickling_detail(exc: Exception) -> str:
    """What torch's restricted unpickler refused, without its advice to load unsafely."""
    text = str(exc)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if found:
        return f"it refers to {found.group(1)}"
    found = re.search(r"Unsupported operand \d+", text)
    if found:
        return f"it is not a torch archive ({found.group(0).lower()})"
    return "torch's restricted unpickler refused it"


def _version_error(path: str, payload: dict) -> ModelFileError:
    written_by = payload.get("tabsyn_version")
    writer = f"tabsyn {written_by}" if isinstance(written_by, str) else "an unknown tabsyn version"
    use = f"tabsyn {written_by}" if isinstance(written_by, str) else "the tabsyn version that wrote it"
    return ModelFileError(
        f"{path!r} was written by {writer} in model-file format {payload.get('format_version')!r}; "
        f"this is tabsyn {__version__}, which reads format {FORMAT_VERSION} only. "
        f"Fit the model again with this version, or load the file with {use}"
    )


def _state_error(path: str, name: str, exc: Exception) -> ModelFileError:
    if isinstance(exc, KeyError):
        what = f"it lacks the entry {exc.args[0]!r}" if exc.args else "an entry is missing"
    else:
        lines = str(exc).strip().splitlines()
        what = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return ModelFileError(
        f"{path!r} is a tabsyn model file but its {name} state is malformed ({what}), so it was "
        f"not loaded; fit the model again and save it with this tabsyn ({__version__})"
    )


def load(path: str | os.PathLike) -> Any:
    """Load a model written by ``save``; refuses any file holding more than plain data.

    Safe for files from others: nothing in the file is executed. (Files written
    with ``joblib.dump`` are pickles; open those only if you trust their source.)
    Files of another model-file format version are refused, saying which tabsyn
    wrote them; files from another tabsyn version of the same format load with a
    :class:`VersionMismatchWarning`.
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
        # Only our own summary of torch's message: its text advises loading with weights_only=False.
        raise ModelFileError(
            f"{path!r} holds objects other than plain data (tensors, numbers, strings, "
            f"lists, dicts), so it was not loaded; tabsyn.load opens only files written "
            f"by TabSynthesizer.save / ImageDDPM.save. Detail: {_unpickling_detail(exc)}"
        ) from None
    except Exception as exc:  # not a torch archive at all
        raise ModelFileError(
            f"{path!r} is not a tabsyn model file (written by .save()); reading it failed "
            f"with {type(exc).__name__}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path!r} is not a tabsyn model file (written by .save())")
    if payload.get("format_version") != FORMAT_VERSION:
        raise _version_error(path, payload)
    name = payload.get("class")
    classes = registered()
    if not isinstance(name, str) or name not in classes:
        raise ModelFileError(
            f"{path!r} names class {name!r}; tabsyn loads only {sorted(classes)}"
        )
    if payload.get("tabsyn_version") != __version__:
        warnings.warn(
            f"{path!r} was written by tabsyn {payload.get('tabsyn_version')}; this is "
            f"tabsyn {__version__}. It may load and sample differently.",
            VersionMismatchWarning,
            stacklevel=2,
        )
    state = decode(payload.get("state"))
    if not isinstance(state, dict):
        raise _state_error(path, name, KeyError("state"))
    try:
        return classes[name]._from_state(state)
    except ModelFileError as exc:
        raise ModelFileError(f"{path!r}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise _state_error(path, name, exc) from exc
