"""The estimator contract shared by TabSynthesizer and ImageDDPM.

scikit-learn's conventions: ``__init__`` stores its keyword arguments untouched,
``fit`` validates them and returns ``self``, learned attributes end in ``_``,
an unfitted estimator raises ``NotFittedError``. Persistence goes through plain
data (``_to_state`` / ``_from_state``), for ``save``/``tabsyn.load`` and for
pickling (``joblib.dump``) alike, so a file never holds live CUDA tensors.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tabsyn import persistence

DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")


def resolve_device(device: Any) -> torch.device:
    """``"auto"`` -> CUDA when present, else CPU; also ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string, one of {DEVICES}; got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for but CUDA is not available on this "
                f"machine; use device='auto' or 'cpu'"
            )
        return torch.device(device)
    if device == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError("device='mps' was asked for but MPS is not available; use 'auto' or 'cpu'")
        return torch.device("mps")
    raise ValueError(f"device must be one of {DEVICES}; got {device!r}")


def check_random_state(random_state: Any, name: str = "random_state") -> np.random.Generator:
    """None, an int or a numpy Generator -> a fresh numpy Generator."""
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {random_state}")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        f"{name} must be None, a non-negative int or a numpy.random.Generator; got {random_state!r}"
    )


def check_n(n: Any, name: str = "n") -> int:
    """A positive number of rows or images to sample."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        if isinstance(n, float) and n.is_integer() and n > 0:
            return int(n)
        raise TypeError(f"{name} must be a positive integer; got {n!r} ({type(n).__name__})")
    if n <= 0:
        raise ValueError(f"{name} must be a positive integer; got {n}")
    return int(n)


def check_choice(value: Any, name: str, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}; got {value!r}")
    return value


def check_positive(value: Any, name: str, *, integer: bool = False, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return value
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        what = "a positive integer" if integer else "a positive number"
        none = " or None" if allow_none else ""
        raise ValueError(f"{name} must be {what}{none}; got {value!r}")
    return value


def check_fraction(value: Any, name: str, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low <= value < high:
        raise ValueError(f"{name} must be a number in [{low}, {high}); got {value!r}")
    return float(value)


def torch_seed(rng: np.random.Generator) -> int:
    """Draw a seed for torch from a numpy Generator."""
    return int(rng.integers(0, 2**62))


class BaseSynthesizer(BaseEstimator):
    """Common plumbing; subclasses set ``_fitted_attribute`` and implement the state hooks."""

    # An attribute that exists only once the estimator is fitted.
    _fitted_attribute = "model_"

    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attribute):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                f"your data before sampling."
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, self._fitted_attribute)

    # -- persistence -------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the estimator to ``path`` as plain data; read it back with :func:`tabsyn.load`."""
        persistence.save(self, path)

    def _to_state(self) -> dict:
        """Parameters plus, when fitted, what fit learned, as plain data on the CPU."""
        state: dict[str, Any] = {"params": self.get_params(deep=False)}
        if self.__sklearn_is_fitted__():
            state["fitted"] = self._fitted_state()
        return state

    @classmethod
    def _from_state(cls, state: dict):
        obj = cls(**state["params"])
        if "fitted" in state:
            obj._restore_fitted_state(state["fitted"])
        return obj

    def _fitted_state(self) -> dict:
        raise NotImplementedError

    def _restore_fitted_state(self, fitted: dict) -> None:
        raise NotImplementedError

    # Pickling (joblib.dump) goes through the same plain state, so weights are
    # stored on the CPU and a model fitted on a GPU unpickles on a CPU.
    def __getstate__(self) -> dict:
        return {"__tabsyn_state__": persistence.encode(self._to_state())}

    def __setstate__(self, data: dict) -> None:
        state = persistence.decode(data["__tabsyn_state__"])
        self.__dict__.update(state["params"])
        if "fitted" in state:
            self._restore_fitted_state(state["fitted"])
