"""The latent stages: scaling the VAE's latents, and the conditional EDM denoiser that learns them.

- :class:`LatentScaler` maps VAE latents to the diffusion space (zero mean,
  standard deviation ``sigma_data`` per dimension) and back.
- :class:`LatentDenoiser` is the EDM-preconditioned MLP, conditioned on any
  known cells of a row (:class:`~tabsyn.tabular.conditioning.ConditionLayout`,
  which it owns), with its own config; :meth:`LatentDenoiser.sample` integrates
  the probability-flow ODE, with classifier-free guidance toward known cells.
- :func:`fit_denoiser` is its training recipe.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import asdict, dataclass
from typing import Callable

import torch
from torch import nn

from tabsyn import distributed
from tabsyn.diffusion.denoiser import MLPDenoiser
from tabsyn.diffusion.edm import EDMLoss, EDMPrecond
from tabsyn.diffusion.sampler import ode_sample
from tabsyn.tabular.conditioning import ConditionLayout
from tabsyn.tabular.fitting import epochs_for, minibatches, steps_per_epoch, validation_schedule
from tabsyn.tabular.presets import Settings
from tabsyn.training import EMA, History, TrainConfig, adam, train

SIGMA_DATA = 0.5  # latents are scaled to this standard deviation per dimension (EDM's sigma_data)
VAL_BLOCK = 8192  # held-out rows per denoiser call in validation

# A network evaluated row by row (see tabsyn.tabular.sampling.RowBlocks): fn, inputs, padding values.
RowWise = Callable[..., torch.Tensor]


PRECISIONS = ("auto", "float32", "bfloat16")
ODE_PRECISIONS = {"float32": torch.float32, "float64": torch.float64}  # the sampler's update (state_dtype)


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}; got {precision!r}")
    return precision


@functools.lru_cache(maxsize=None)
def cpu_has_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (x86 AVX512-BF16 / AMX, Arm BF16; read on Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = {word for line in f if line.startswith(("flags", "Features")) for word in line.split()}
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` -> bfloat16 where the hardware has it (it measured 2.6x float32 sampling at the same
    fidelity on Adult, benchmarks/ABLATIONS.md), else float32; other values as given."""
    if check_precision(precision) != "auto":
        return precision
    if device.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    return "bfloat16" if device.type == "cpu" and cpu_has_bfloat16() else "float32"


def network_precision(precision: str, device: torch.device):
    """A context in which the network runs at ``precision`` (:func:`resolve_precision`): bfloat16 autocast,
    or nothing for float32. Parameters, optimiser state and the ODE update stay float32 (or float64)."""
    if resolve_precision(precision, device) == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class LatentScaler:
    """Per-dimension standardisation of latents, to ``sigma_data`` (``encode``) and back (``decode``)."""

    def __init__(self, sigma_data: float = SIGMA_DATA):
        self.sigma_data = sigma_data

    def fit(self, latents: torch.Tensor) -> "LatentScaler":
        self.mean_ = latents.mean(0)
        self.std_ = latents.std(0).clamp_min(1e-6)
        return self

    def encode(self, latents: torch.Tensor) -> torch.Tensor:
        return (latents - self.mean_.to(latents.device)) / self.std_.to(latents.device) * self.sigma_data

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z / self.sigma_data * self.std_.to(z.device) + self.mean_.to(z.device)

    def to_state(self) -> dict:
        return {"sigma_data": self.sigma_data, "mean": self.mean_.cpu(), "std": self.std_.cpu()}

    @classmethod
    def from_state(cls, state: dict) -> "LatentScaler":
        obj = cls(state["sigma_data"])
        obj.mean_, obj.std_ = state["mean"], state["std"]
        return obj


@dataclass
class DenoiserConfig:
    dim: int               # latent dimensions (columns x d_token)
    width: int             # MLP width (TabSyn's dim_t)
    n_num: int             # numerical model columns, for the condition layout
    cat_sizes: list[int]   # levels per categorical model column, for the condition layout


class LatentDenoiser(nn.Module):
    """D(z, sigma[, condition]): EDM preconditioning around the MLP, conditioned on known cells."""

    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.cfg = cfg
        self.layout = ConditionLayout(cfg.n_num, cfg.cat_sizes)
        self.net = EDMPrecond(MLPDenoiser(cfg.dim, cfg.width, d_cond=self.layout.dim), sigma_data=SIGMA_DATA)

    def forward(self, z: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z, sigma, cond)

    @torch.no_grad()
    def sample(self, noise: torch.Tensor, *, steps: int, rows: RowWise, cond: torch.Tensor | None = None,
               guidance_scale: float = 1.0, precision: str = "auto", sampler: str = "heun",
               sigma_max: float = 80.0, ode_precision: str = "float64") -> torch.Tensor:
        """Integrate the probability-flow ODE from standard normal ``noise`` (``sampler``, EDM grid).

        ``rows(fn, *inputs, fill=...)`` evaluates the network row by row (fixed
        blocks, so a row never depends on the others). With a condition and
        guidance w != 1, classifier-free guidance: D = D_free + w (D_cond - D_free)
        (w = 1.5 matched real rows best on Adult; benchmarks/conditional.py).
        ``precision="bfloat16"`` runs the network under bfloat16 autocast (``"auto"``:
        where the hardware has bfloat16); the ODE update runs in ``ode_precision`` ("float64" or
        "float32") either way.
        """
        def free(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            return rows(self, x, sigma, fill=(0.0, 1.0))

        def conditioned(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            d = rows(self, x, sigma, cond, fill=(0.0, 1.0, 0.0))
            if guidance_scale == 1:
                return d
            u = free(x, sigma)
            return u + guidance_scale * (d - u)

        with network_precision(precision, noise.device):
            return ode_sample(free if cond is None else conditioned, noise, sampler=sampler, num_steps=steps,
                              sigma_max=sigma_max, state_dtype=ODE_PRECISIONS[ode_precision]).float()

    def to_state(self) -> dict:
        return {"config": asdict(self.cfg), "weights": {k: v.detach().cpu() for k, v in self.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict) -> "LatentDenoiser":
        obj = cls(DenoiserConfig(**state["config"]))
        obj.load_state_dict(state["weights"])
        return obj.eval()


def fit_denoiser(z: torch.Tensor, x_num: torch.Tensor, x_cat: torch.Tensor, cat_sizes: list[int], train_idx, val_idx,
                 s: Settings, *, max_seconds: float | None, verbose: bool) -> tuple[LatentDenoiser, History]:
    """Train the denoiser on scaled latents ``z`` (rows ``train_idx``), early-stopped on ``val_idx``.

    A share ``s.condition_rate`` of each batch shows the denoiser a random subset
    of its own cells, so it also learns every conditional the sampler may ask for
    (conditions, completing rows, imputation). Under torchrun each rank trains on its
    shard of ``train_idx`` (:mod:`tabsyn.distributed`).
    """
    train_idx, batch = distributed.shard(train_idx), distributed.per_rank_batch(s.batch_size)
    cfg = DenoiserConfig(dim=z.shape[1], width=s.denoiser_width, n_num=x_num.shape[1], cat_sizes=list(cat_sizes))
    denoiser = LatentDenoiser(cfg).to(z.device)
    net = distributed.wrap(denoiser)  # DDP under torchrun: gradients averaged over the ranks
    layout, loss = denoiser.layout, EDMLoss(s.noise_mean, s.noise_std, SIGMA_DATA)
    z_train, z_val = z[train_idx], z[val_idx]
    num_train, cat_train = x_num[train_idx], x_cat[train_idx]
    val_seed = int(torch.randint(0, 2**31, ()).item())

    def loss_fn(idx):
        known = layout.random_known(len(idx), s.condition_rate, z.device)
        cond = layout.vector(num_train[idx], cat_train[idx], *known)
        with network_precision(s.diffusion_precision, z.device):  # validation stays float32
            return loss(net, z_train[idx], cond=cond).mean()

    def validate(model):
        # Fixed noise, so successive evaluations compare like with like; the held-out rows a block at
        # a time, so the MLP's activations stay bounded however many rows are held out.
        g = torch.Generator(device=z.device).manual_seed(val_seed)
        total = sum(loss(model, z_val[i:i + VAL_BLOCK], generator=g).sum().item()
                    for _ in range(4) for i in range(0, len(z_val), VAL_BLOCK))
        return {"val_loss": total / (4 * z_val.numel())}

    every, patience = validation_schedule(s.eval_every_steps, s.patience_steps, len(train_idx), batch)
    epochs = epochs_for(s.diffusion_steps, len(train_idx), batch)
    decay = epochs * steps_per_epoch(len(train_idx), batch) if s.diffusion_schedule == "cosine" else 0
    config = TrainConfig(max_epochs=epochs, lr=s.diffusion_lr, patience=patience, max_seconds=max_seconds,
                         ema_decay=s.ema_decay, eval_every=every, decay_steps=decay,
                         grad_clip=s.diffusion_grad_clip)
    history = train(denoiser, config=config, batches=minibatches(len(train_idx), batch), loss_fn=loss_fn,
                    validate=validate, monitor="val_loss", desc="diffusion", verbose=verbose)
    return denoiser.eval(), history


def denoiser_probe(columns: int, x_num: torch.Tensor, x_cat: torch.Tensor, cat_sizes: list[int], train_idx,
                   s: Settings) -> Callable[[], None]:
    """One optimiser step (and EMA update) of a throwaway denoiser of the fit's sizes for ``columns`` latent
    tokens, on one batch of the training rows and stand-in latents, as a callable
    (:mod:`tabsyn.tabular.estimate` times it)."""
    idx = distributed.shard(train_idx)[:distributed.per_rank_batch(s.batch_size)]
    device, dim = x_num.device, columns * s.d_token
    denoiser = LatentDenoiser(DenoiserConfig(dim=dim, width=s.denoiser_width, n_num=x_num.shape[1],
                                             cat_sizes=list(cat_sizes))).to(device)
    optimizer = adam(denoiser.parameters(), lr=s.diffusion_lr)
    loss = EDMLoss(s.noise_mean, s.noise_std, SIGMA_DATA)
    ema = EMA(denoiser, s.ema_decay) if s.ema_decay else None
    z, num, cat = torch.randn(len(idx), dim, device=device) * SIGMA_DATA, x_num[idx], x_cat[idx]

    def step() -> None:
        cond = denoiser.layout.vector(num, cat, *denoiser.layout.random_known(len(idx), s.condition_rate, device))
        optimizer.zero_grad(set_to_none=True)
        with network_precision(s.diffusion_precision, device):
            value = loss(denoiser, z, cond=cond).mean()
        value.backward()
        optimizer.step()
        if ema is not None:
            ema.update(denoiser)

    return step
