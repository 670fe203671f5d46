"""One training loop for every network in tabsyn (VAE, latent denoiser, U-Net).

The loop owns what is the same everywhere: the optimiser step, gradient
clipping, learning-rate warm-up, EMA weights, validation with early stopping
and best-weights restore, a time budget, a tqdm bar with the current loss, a
loss history, and a clear error when the loss stops being finite. What differs
between models comes in as callables: the batches of an epoch, the loss of a
batch, the validation metrics, and an end-of-epoch hook.
"""

from __future__ import annotations

import copy
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from tqdm.auto import tqdm

from tabsyn import distributed


class TimeBudget:
    """A wall-clock allowance that starts running when it is made; ``None`` seconds = unlimited.

    ``train`` makes one from ``TrainConfig.max_seconds``; an estimator makes one
    at the start of ``fit`` and hands each training loop what is left of it
    (``TrainConfig(max_seconds=budget.remaining())``), so setup time counts too.

    Examples
    --------
    >>> budget = TimeBudget(60.0)
    >>> budget.expired()
    False
    >>> TimeBudget(None).remaining()
    inf
    """

    def __init__(self, seconds: float | None):
        if seconds is not None and not seconds >= 0:
            raise ValueError(f"a time budget must be a number of seconds >= 0 or None; got {seconds!r}")
        self.seconds = seconds
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since the budget was made."""
        return time.perf_counter() - self._start

    def remaining(self) -> float:
        """Seconds left (0 once spent; ``inf`` without a limit)."""
        return math.inf if self.seconds is None else max(self.seconds - self.elapsed(), 0.0)

    def expired(self) -> bool:
        return self.seconds is not None and self.elapsed() >= self.seconds


class StageClock:
    """Wall-clock seconds of each named stage of a fit, in the order the stages ran.

    Examples
    --------
    >>> clock = StageClock()
    >>> with clock("codec"):
    ...     pass
    >>> list(clock.seconds)
    ['codec']
    """

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


class TrainingDivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


class EMA:
    """Exponential moving average of a model's parameters (buffers are copied)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema decay must be in (0, 1); got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for ema_p, p in zip(self.model.parameters(), model.parameters()):
            ema_p.lerp_(p.detach(), 1.0 - self.decay)
        for ema_b, b in zip(self.model.buffers(), model.buffers()):
            ema_b.copy_(b)


# Devices whose parameters torch's fused Adam kernel takes.
FUSED_ADAM_DEVICES = ("cpu", "cuda")


def adam(params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """torch's Adam, with its fused kernel (one pass over all the parameters, not a few ops per tensor)
    where every parameter is a float on a device that has it, its per-tensor loop elsewhere.

    The same update, to float rounding. On 2 CPU cores the fused kernel took a 2,000-row table's
    denoiser step (256 rows) 1.14-1.17x faster and its VAE step 1.06x (a whole fit 1.13x), and the
    five benchmark tables' steps 1.03-1.12x (``python benchmarks/optimizer_step.py``,
    benchmarks/ABLATIONS.md).

    >>> adam(torch.nn.Linear(2, 1).parameters(), lr=1e-3).defaults["fused"]
    True
    """
    params = list(params)
    fused = bool(params) and all(p.is_floating_point() and p.device.type in FUSED_ADAM_DEVICES for p in params)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


@dataclass
class TrainConfig:
    max_epochs: int                 # upper bound on passes over the data
    lr: float = 1e-3                # Adam learning rate
    weight_decay: float = 0.0
    patience: int | None = None     # evaluations without improvement before stopping
    min_delta: float = 0.0          # improvement smaller than this does not count
    max_seconds: float | None = None  # wall-clock budget for this loop (checked after every step)
    grad_clip: float | None = None  # max global gradient norm
    warmup_steps: int = 0           # linear learning-rate warm-up, in optimiser steps
    decay_steps: int = 0            # cosine learning-rate decay to 0 over this many optimiser steps (0: none)
    ema_decay: float | None = None  # keep EMA weights (used for validation and kept at the end)
    eval_every: int = 1             # validate every this many epochs


@dataclass
class History:
    """Per-epoch records ({"epoch", "train_loss", "seconds", plus validation metrics})."""

    records: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    best_value: float | None = None
    stop_reason: str = ""

    def column(self, key: str) -> list[float]:
        return [r[key] for r in self.records if key in r]

    def to_dict(self) -> dict:
        return {
            "records": [dict(r) for r in self.records],
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(list(d["records"]), d["best_epoch"], d["best_value"], d["stop_reason"])


def lr_factor(step: int, warmup_steps: int, decay_steps: int) -> float:
    """The learning rate's multiplier for optimiser step ``step`` (from 0): a linear warm-up over
    ``warmup_steps``, then, if ``decay_steps``, a cosine from 1 down to 0 at step ``decay_steps``.

    Examples
    --------
    >>> lr_factor(0, 10, 0), lr_factor(20, 10, 0)
    (0.1, 1.0)
    >>> round(lr_factor(50, 0, 100), 3), lr_factor(100, 0, 100)
    (0.5, 0.0)
    """
    factor = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    if decay_steps > 0:
        factor *= 0.5 * (1.0 + math.cos(math.pi * min(step, decay_steps) / decay_steps))
    return factor


def train(
    model: torch.nn.Module,
    *,
    config: TrainConfig,
    batches: Callable[[], Iterable],
    loss_fn: Callable[[object], torch.Tensor],
    validate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
    monitor: str = "val_loss",
    on_epoch_end: Callable[[int, dict], None] | None = None,
    desc: str = "train",
    verbose: bool = True,
) -> History:
    """Train ``model`` in place and return its history.

    ``batches()`` yields one epoch of batches; ``loss_fn(batch)`` returns the
    scalar loss to minimise. When ``validate`` is given it is called with the
    model being judged (the EMA copy when there is one) every ``eval_every``
    epochs and must return a dict holding ``monitor``; the weights with the
    lowest ``monitor`` are restored into ``model`` at the end; with an EMA and no
    ``validate``, ``model`` ends with the EMA weights. When ``config.max_seconds``
    runs out, the epoch in progress ends after its current step, is recorded
    and validated, and training stops.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = adam(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = None
    if config.warmup_steps > 0 or config.decay_steps > 0:
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_factor(step, config.warmup_steps, config.decay_steps))
    ema = EMA(model, config.ema_decay) if config.ema_decay else None
    history = History()
    best_state: dict | None = None
    bad_evals = 0
    budget = TimeBudget(config.max_seconds)
    bar = tqdm(range(config.max_epochs), desc=desc, disable=not verbose or not distributed.is_writer(), leave=False,
               dynamic_ncols=True)
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for batch in batches():
            loss = loss_fn(batch)
            if not torch.isfinite(loss):
                bar.close()
                raise TrainingDivergedError(
                    f"{desc}: the training loss became {loss.item()} at epoch {epoch}; "
                    f"lower the learning rate or check the data for extreme values"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if ema is not None:
                ema.update(model)
            total += loss.item()
            count += 1
            if distributed.any_rank(budget.expired()):
                break
        record = {"epoch": epoch, "train_loss": total / max(count, 1)}
        judged = ema.model if ema is not None else model
        out_of_time = distributed.any_rank(budget.expired())
        # Validate on schedule, and always on the last epoch (the budget's or a time budget's),
        # so the final weights are judged too.
        last = out_of_time or epoch == config.max_epochs - 1
        if validate is not None and ((epoch + 1) % config.eval_every == 0 or last):
            judged.eval()
            with torch.no_grad():
                record.update(distributed.mean_over_ranks(validate(judged)))  # every rank decides alike
            value = record[monitor]
            if history.best_value is None or value < history.best_value - config.min_delta:
                history.best_value, history.best_epoch = float(value), epoch
                best_state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
                bad_evals = 0
            else:
                bad_evals += 1
        record["seconds"] = budget.elapsed()
        history.records.append(record)
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
        bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k not in ("epoch", "seconds")})
        if config.patience is not None and bad_evals >= config.patience:
            history.stop_reason = f"no improvement in {monitor} for {config.patience} evaluations"
            break
        if out_of_time:
            history.stop_reason = f"time budget of {config.max_seconds:g} s reached"
            break
    else:
        history.stop_reason = f"max_epochs={config.max_epochs} reached"
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    elif validate is None and ema is not None:
        model.load_state_dict(ema.model.state_dict())
    model.eval()
    if history.best_value is not None and not math.isfinite(history.best_value):
        raise TrainingDivergedError(f"{desc}: the validation {monitor} is not finite")
    return history
