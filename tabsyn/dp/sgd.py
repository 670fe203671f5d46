"""DP-SGD with Opacus: Poisson-sampled batches, per-row clipped gradients plus Gaussian noise, RDP accounting.

Opacus (:class:`opacus.optimizers.DPOptimizer`) clips every row's gradient to
``max_grad_norm``, sums them, adds N(0, (noise_multiplier * max_grad_norm)^2)
and averages over the expected batch size; its RDP accountant
(:class:`opacus.accountants.RDPAccountant`) composes the steps. Batches are
Poisson samples (every row joins each batch with probability ``sample_rate``),
as that accountant assumes. Per-row gradients, two ways:

- :func:`private_train` with ``row_loss``: ``torch.func`` (``vmap`` over ``grad``)
  materialises them, for any network; the VAE needs it (Opacus' per-layer hooks
  take neither its tokenizer nor its attention);
- with ``batch_losses``: Opacus' ghost clipping
  (:class:`~opacus.grad_sample.GradSampleModuleFastGradientClipping`) computes
  only their norms from each layer's inputs and output gradients, then a second
  backward pass of the clipped losses; for networks of ``nn.Linear`` layers (the
  denoiser), several times faster than materialising them.

Nothing here records a loss: a loss over private rows is itself a statistic the
budget does not cover, so the histories of a DP fit hold steps and seconds only.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable

import torch
from torch.func import functional_call, grad, vmap
from tqdm.auto import tqdm

from tabsyn.training import EMA, History, TimeBudget

MAX_GRAD_NORM = 1.0  # per-row clipping bound C
# RDP orders the accountant optimises over: Opacus' defaults, and larger ones for heavily noised mechanisms.
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(11, 64)) + [80, 128, 256, 512, 1024, 2048]
CHUNK_ROWS = 1024    # rows whose gradients are materialised at once (memory; 256 measured 2.8x slower)


def opacus():
    """The Opacus modules, or an error naming the extra that installs them."""
    try:
        import opacus.accountants  # noqa: F401
        import opacus.optimizers  # noqa: F401
    except ImportError:
        raise ImportError('differential privacy (dp_epsilon) needs Opacus: pip install "tabsyn[dp]"') from None
    import opacus as module
    return module


def composed_epsilon(history: list[tuple[float, float, int]], delta: float) -> float:
    """Epsilon at ``delta`` of the Gaussian mechanisms in ``history`` ((noise multiplier, sample rate, steps))."""
    accountant = opacus().accountants.RDPAccountant()
    accountant.history = [h for h in history if h[2] > 0]
    return float(accountant.get_epsilon(delta, alphas=ALPHAS)) if accountant.history else 0.0


def calibrate_noise(target_epsilon: float, delta: float, stages: list[tuple[float, int]],
                    fixed: list[tuple[float, float, int]] = (), *, tol: float = 0.005) -> float:
    """The smallest noise multiplier that, used at every ``(sample_rate, steps)`` of ``stages`` next to the
    ``fixed`` mechanisms, keeps the composed epsilon at ``delta`` within ``target_epsilon``; inf if none does."""
    def eps(sigma: float) -> float:
        return composed_epsilon([(sigma, q, t) for q, t in stages] + list(fixed), delta)
    low, high = 0.3, 1.0
    while eps(high) > target_epsilon:
        low, high = high, high * 2
        if high > 1e4:
            return math.inf
    while high - low > tol * high:
        mid = (low + high) / 2
        low, high = (mid, high) if eps(mid) > target_epsilon else (low, mid)
    return high


def private_train(module: torch.nn.Module, data: tuple[torch.Tensor, ...], *, steps: int,
                  sample_rate: float, noise_multiplier: float, lr: float, generator: torch.Generator,
                  row_loss: Callable | None = None, batch_losses: Callable | None = None,
                  ema_decay: float | None = None, max_seconds: float | None = None,
                  on_step: Callable[[int], None] | None = None,
                  batch_inputs: Callable[..., tuple] | None = None, desc: str = "DP-SGD",
                  verbose: bool = True) -> tuple[History, int]:
    """Train ``module`` in place with DP-SGD for ``steps`` steps; returns (history, steps taken).

    ``row_loss(model, *row_tensors)`` is the loss of ONE row (tensors with a
    leading batch dimension of 1), run through the model it is given; or
    ``batch_losses(model, *batch_tensors)`` the loss of every row of a batch,
    shape (rows,), for ghost clipping (``nn.Linear`` networks only). ``data``
    are the tensors of all rows; ``batch_inputs(*batch_tensors)``, when given, turns a
    batch's tensors into the row tensors (per-row randomness that needs no parameters,
    outside ``vmap``). A time budget may stop early: fewer steps spend less, and the
    caller accounts for the steps taken.
    """
    if (row_loss is None) == (batch_losses is None):
        raise TypeError("private_train takes one of row_loss (vmap) and batch_losses (ghost clipping)")
    n = len(data[0])
    names = [k for k, p in module.named_parameters() if p.requires_grad]
    params = [p for p in module.parameters() if p.requires_grad]
    expected = max(1, int(round(sample_rate * n)))
    ema = EMA(module, ema_decay) if ema_decay else None
    prepare = batch_inputs or (lambda *t: t)
    if batch_losses is not None:
        from opacus.grad_sample import GradSampleModuleFastGradientClipping
        from opacus.optimizers import DPOptimizerFastGradientClipping
        from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping

        net = GradSampleModuleFastGradientClipping(module, max_grad_norm=MAX_GRAD_NORM, use_ghost_clipping=True,
                                                   loss_reduction="mean")
        optimizer = DPOptimizerFastGradientClipping(
            torch.optim.Adam(params, lr=lr), noise_multiplier=noise_multiplier, max_grad_norm=MAX_GRAD_NORM,
            expected_batch_size=expected, loss_reduction="mean")
    else:
        from opacus.optimizers import DPOptimizer

        optimizer = DPOptimizer(torch.optim.Adam(params, lr=lr), noise_multiplier=noise_multiplier,
                                max_grad_norm=MAX_GRAD_NORM, expected_batch_size=expected, loss_reduction="mean")

        def one(p, *row):
            return row_loss(lambda *a: functional_call(module, p, a), *(t.unsqueeze(0) for t in row))

    budget, history, taken = TimeBudget(max_seconds), History(), 0
    bar = tqdm(range(steps), desc=desc, disable=not verbose, leave=False, dynamic_ncols=True)
    module.train()
    for step in bar:
        # Poisson sampling: each row joins the batch with probability sample_rate.
        idx = torch.nonzero(torch.rand(n, generator=generator, device=generator.device) < sample_rate).flatten()
        idx = idx.to(data[0].device)
        if batch_losses is not None:
            optimizer.zero_grad(set_to_none=True)
            if len(idx):
                losses = batch_losses(net, *prepare(*(t[idx] for t in data)))
                with warnings.catch_warnings():  # the second pass needs no input gradients; torch says so
                    warnings.filterwarnings("ignore", message="Full backward hook is firing")
                    DPTensorFastGradientClipping(net, optimizer, losses, "mean").backward()
            else:  # an empty batch still takes its noisy step, of a zero gradient
                for p in params:
                    p.grad = torch.zeros_like(p)
            optimizer.step()
        else:
            chunks = list(torch.split(idx, CHUNK_ROWS)) or [idx]
            for k, rows in enumerate(chunks):
                current = {name: p.detach() for name, p in zip(names, params)}
                if len(rows):
                    inputs = prepare(*(t[rows] for t in data))
                    grads = vmap(grad(one), in_dims=(None,) + (0,) * len(inputs),
                                 randomness="different")(current, *inputs)
                    for name, p in zip(names, params):
                        p.grad_sample = grads[name]
                else:  # an empty batch still takes its noisy step: one zero gradient changes nothing
                    for p in params:
                        p.grad_sample = torch.zeros((1, *p.shape), dtype=p.dtype, device=p.device)
                optimizer.signal_skip_step(do_skip=k < len(chunks) - 1)  # accumulate the chunks, step on the last
                optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if ema is not None:  # warm-up: a short DP budget must not keep a share of the initial weights
            ema.decay = min(ema_decay, (1 + step) / (10 + step))
            ema.update(module)
        taken = step + 1
        if on_step is not None:
            on_step(step)
        if step % 50 == 0 or taken == steps:
            history.records.append({"step": taken, "seconds": budget.elapsed()})
        if budget.expired():
            history.stop_reason = f"time budget of {max_seconds:g} s reached after {taken} of {steps} steps"
            break
    else:
        history.stop_reason = f"steps={steps} reached"
    bar.close()
    if batch_losses is not None:
        net.remove_hooks()  # the module goes on as a plain one
    if ema is not None:
        module.load_state_dict(ema.model.state_dict())
    return history, taken
