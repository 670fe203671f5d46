"""The estimator contract shared by TabSynthesizer and ImageDDPM.

scikit-learn's conventions: ``__init__`` stores its keyword arguments untouched,
``fit`` validates them and returns ``self``, learned attributes end in ``_``,
an unfitted estimator raises ``NotFittedError``. Persistence goes through plain
data (``_to_state`` / ``_from_state``), for ``save``/``tabsyn.load`` and for
pickling (``joblib.dump``) alike, so a file never holds live CUDA tensors.

Beside the contract sit the small pieces both estimators need: argument checks
that name the argument, the value and what is accepted; the device a loaded
model runs on; the random stream successive ``sample`` calls continue; and the
batching of sampling.
"""

from __future__ import annotations

import contextlib
import numbers
import os
from typing import Any, Iterator, Mapping

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


def load_device(device: Any) -> torch.device:
    """The device a loaded model runs on: ``device`` when this machine has it, else the CPU.

    A model fitted with ``device="cuda"`` (or ``"mps"``) and loaded where there is
    none samples on the CPU, without an error; a name that is no device at all
    still raises as in :func:`resolve_device`.
    """
    try:
        return resolve_device(device)
    except ValueError:
        name = str(device)
        if name in ("cuda", "mps") or (name.startswith("cuda:") and name[5:].isdigit()):
            return torch.device("cpu")
        raise


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


def check_non_negative(value: Any, name: str, *, integer: bool = False, allow_none: bool = False) -> Any:
    """A finite number (or integer) >= 0; bools are refused."""
    if value is None and allow_none:
        return value
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not 0 <= value < float("inf"):
        what = "a non-negative integer" if integer else "a number >= 0"
        none = " or None" if allow_none else ""
        raise ValueError(f"{name} must be {what}{none}; got {value!r}")
    return value


def check_bool(value: Any, name: str) -> bool:
    """True or False (a numpy bool too); anything else, 0 and 1 included, is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_guidance_scale(value: Any, name: str = "guidance_scale", default: float | None = None) -> float:
    """A classifier-free guidance scale: a finite real number >= 0 (bools refused).

    0 is the unconditional model, 1 the plain conditional one, larger values
    follow the condition harder. ``default`` only enters the error message.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < float("inf"):
        hint = "1 = the plain conditional" + ("" if default is None else f", default {default:g}")
        raise ValueError(f"{name} must be a number >= 0 ({hint}); got {value!r}")
    return float(value)


def batches(n: int, batch_size: int) -> Iterator[tuple[int, int]]:
    """``(start, rows)`` of consecutive batches covering ``range(n)``, the last one possibly shorter."""
    for start in range(0, n, batch_size):
        yield start, min(batch_size, n - start)


STREAM_BLOCK = 512  # stream positions per generator (see position_noise)


def _by_position(seed: int, positions: np.ndarray, draw) -> np.ndarray:
    """``draw(rng)`` gives ``STREAM_BLOCK`` values for the block of positions ``rng`` is keyed to; pick each row's."""
    positions = np.asarray(positions, dtype=np.int64)
    blocks = positions // STREAM_BLOCK
    out = None
    for block in np.unique(blocks):
        rows = np.flatnonzero(blocks == block)
        values = draw(np.random.default_rng([int(seed), int(block)]))
        if out is None:
            out = np.empty((len(positions), *values.shape[1:]), values.dtype)
        out[rows] = values[positions[rows] % STREAM_BLOCK]
    return out if out is not None else np.empty((0,))


def position_noise(seed: int, positions: np.ndarray, dim: int) -> np.ndarray:
    """Standard normal noise, (rows, dim) float64, a function of ``seed`` and each row's position only."""
    if not len(positions):
        return np.empty((0, dim))
    return _by_position(seed, positions, lambda rng: rng.standard_normal((STREAM_BLOCK, dim)))


def position_seeds(seed: int, positions: np.ndarray) -> np.ndarray:
    """One seed in [0, 2**63) per position, a function of ``seed`` and the position only."""
    if not len(positions):
        return np.empty(0, np.int64)
    return _by_position(seed, positions, lambda rng: rng.integers(0, 2**63, size=STREAM_BLOCK))


class SampleStream:
    """The random stream that successive ``sample`` calls without a seed continue.

    A stream is a seed and a position: row (or image) ``p`` of the stream is a
    function of the seed and ``p`` alone (:func:`position_noise`,
    :func:`position_seeds`), so how calls split the rows, and whether a caller
    consumed every row it asked for, never changes any row. Fitting seeds it;
    saving and loading carry it over (:meth:`to_state` / :meth:`from_state`), so
    a loaded model goes on where the saved one stopped.

    Examples
    --------
    >>> stream = SampleStream(seed=7)
    >>> seed, base = stream.take(10)   # (7, 0); the stream is now at 10
    >>> seed, base = stream.take(5)    # (7, 10)
    >>> seed, base = stream.take(5, random_state=3)  # a seed from 3, base 0, stream untouched
    """

    def __init__(self, seed: int, position: int = 0):
        self.seed = int(seed)
        self.position = int(position)

    @classmethod
    def seeded_from(cls, rng: np.random.Generator) -> "SampleStream":
        """A stream at position 0 seeded by one draw from ``rng`` (the fit's generator)."""
        return cls(int(rng.integers(0, 2**63)))

    def take(self, rows: int, random_state: Any = None) -> tuple[int, int]:
        """The seed and first stream position for a call drawing ``rows``.

        With ``random_state`` the call stands alone: a seed drawn from it and
        position 0, the stream untouched. Without, the stream's seed and
        position, which then advances by ``rows``.
        """
        if random_state is not None:
            return int(check_random_state(random_state).integers(0, 2**63)), 0
        base = self.position
        self.position += int(rows)
        return self.seed, base

    def to_state(self) -> dict:
        return {"stream_seed": self.seed, "stream_position": self.position}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "SampleStream":
        """The stream :meth:`to_state` described (other keys of ``state`` are ignored)."""
        return cls(int(state["stream_seed"]), int(state["stream_position"]))


def torch_seed(rng: np.random.Generator) -> int:
    """Draw a seed for torch from a numpy Generator."""
    return int(rng.integers(0, 2**62))


@contextlib.contextmanager
def seeded_torch(rng: np.random.Generator, device: torch.device) -> Iterator[None]:
    """Run the block with torch's global generators seeded by one draw from ``rng``.

    The caller's torch random state (CPU, and ``device``'s when it is CUDA) is
    restored afterwards, so fitting neither depends on nor disturbs it.
    """
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(torch_seed(rng))
        yield


class BaseSynthesizer(BaseEstimator):
    """Common plumbing; subclasses set ``_fitted_attribute`` and implement the state hooks."""

    # An attribute that exists only once the estimator is fitted.
    _fitted_attribute = "model_"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Every estimator class registers itself, so save() writes it and tabsyn.load rebuilds it.
        persistence.register(cls)

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
