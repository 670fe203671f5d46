"""An (epsilon, delta)-differentially private fit of the whole tabular model, and what it spent.

Every look at the rows is one of these, and the budget is split between them:

1. column statistics (:mod:`tabsyn.dp.columns`): ``PREPROCESSING_SHARE`` of
   epsilon and of delta, Laplace mechanisms and a thresholded histogram;
2. the VAE, trained with DP-SGD (:mod:`tabsyn.dp.sgd`);
3. the latent scaler: the mean and second moment of the VAE's latents, each a
   Gaussian mechanism over latents clipped to +-``LATENT_CLIP``;
4. the latent denoiser, DP-SGD again.

Stages 2-4 are Gaussian mechanisms composed by Opacus' RDP accountant to the
rest of the budget, ``(1 - share) * epsilon`` at ``(1 - share) * delta``; the
VAE and the denoiser use one noise multiplier, calibrated for their step counts.
Basic composition adds the two parts. There is no validation split (no early
stopping, no best-weights choice, no beta decay on held-out rows): the step
budgets are fixed in advance, and the beta of the VAE's KL term follows a fixed
schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from tabsyn.diffusion.edm import EDMLoss
from tabsyn.dp.columns import private_columns
from tabsyn.dp.sgd import MAX_GRAD_NORM, calibrate_noise, composed_epsilon, private_train
from tabsyn.table.schema import ColumnSpec, SchemaError
from tabsyn.tabular.codec import TableCodec
from tabsyn.tabular.latent import SIGMA_DATA, DenoiserConfig, LatentDenoiser, LatentScaler
from tabsyn.tabular.presets import Settings
from tabsyn.tabular.vae import TabularVAE, TransformerBlock, VAEConfig, vae_loss
from tabsyn.tabular.vae_training import MAX_BETA, MIN_BETA
from tabsyn.training import TimeBudget

PREPROCESSING_SHARE = 0.1  # of epsilon and of delta, for the column statistics
LATENT_CLIP = 4.0          # latent coordinates are clipped to +-LATENT_CLIP for the scaler's statistics
SCALER_NOISE = 20.0        # noise multiplier of the scaler's two Gaussian mechanisms
MAX_NOISE = 50.0           # a larger noise multiplier drowns the gradients: refuse the budget instead
DP_VAE_STEPS = 400         # default step budgets in DP mode (each step costs privacy, and per-row gradients
DP_DIFFUSION_STEPS = 2000  # cost several plain steps on the CPU)
DP_DENOISER_WIDTH = 128    # fewer weights: less noise in total for the same clipped signal
VAE_SHARE = 0.3            # share of a time budget the VAE may spend


class BudgetError(ValueError):
    """The requested (epsilon, delta) cannot be met with these settings."""


def default_delta(n_rows: int) -> float:
    """delta = 1 / (10 n): far below the 1 / n at which releasing one whole row would fit in."""
    return 1.0 / (10.0 * n_rows)


def check_budget(epsilon, delta, n_rows: int) -> tuple[float, float]:
    """Validated (epsilon, delta) for a table of ``n_rows`` rows; delta None -> :func:`default_delta`."""
    ok = isinstance(epsilon, (int, float)) and not isinstance(epsilon, bool) and math.isfinite(epsilon) and epsilon > 0
    if not ok:
        raise ValueError(f"dp_epsilon must be a positive finite number (e.g. 1, 3 or 10); got {epsilon!r}")
    if delta is None:
        delta = default_delta(n_rows)
    ok = isinstance(delta, (int, float)) and not isinstance(delta, bool) and 0 < delta < 1.0 / n_rows
    if not ok:
        raise ValueError(f"dp_delta must be in (0, 1/n) = (0, {1.0 / n_rows:.3g}) for {n_rows} rows (a delta of "
                         f"1/n or more allows releasing a row outright); got {delta!r}; None gives 1/(10 n)")
    return float(epsilon), float(delta)


@dataclass
class DPPlan:
    """How a DP fit spends (epsilon, delta): fixed before any row is read, but for the steps taken."""

    epsilon: float
    delta: float
    n_rows: int
    batch_size: int
    vae_steps: int
    diffusion_steps: int
    noise_multiplier: float

    @property
    def sample_rate(self) -> float:
        return min(1.0, self.batch_size / self.n_rows)

    @property
    def preprocessing(self) -> tuple[float, float]:
        return PREPROCESSING_SHARE * self.epsilon, PREPROCESSING_SHARE * self.delta

    @property
    def gaussian(self) -> tuple[float, float]:
        return (1 - PREPROCESSING_SHARE) * self.epsilon, (1 - PREPROCESSING_SHARE) * self.delta

    def mechanisms(self, vae_steps: int | None = None, diffusion_steps: int | None = None) -> list[tuple]:
        q, s = self.sample_rate, self.noise_multiplier
        return [(s, q, self.vae_steps if vae_steps is None else vae_steps), (SCALER_NOISE, 1.0, 2),
                (s, q, self.diffusion_steps if diffusion_steps is None else diffusion_steps)]

    @classmethod
    def make(cls, epsilon: float, delta: float, n_rows: int, batch_size: int, vae_steps: int,
             diffusion_steps: int) -> "DPPlan":
        batch_size = min(batch_size, n_rows)
        q = batch_size / n_rows
        eps_g, delta_g = (1 - PREPROCESSING_SHARE) * epsilon, (1 - PREPROCESSING_SHARE) * delta
        floor = composed_epsilon([(SCALER_NOISE, 1.0, 2)], delta_g)
        sigma = calibrate_noise(eps_g, delta_g, [(q, vae_steps), (q, diffusion_steps)],
                                [(SCALER_NOISE, 1.0, 2)]) if eps_g > floor else math.inf
        if sigma > MAX_NOISE:
            raise BudgetError(
                f"dp_epsilon={epsilon:g} (delta {delta:.3g}) cannot be met by {vae_steps} VAE and {diffusion_steps} "
                f"denoiser steps on {n_rows} rows with batches of {batch_size}: the noise multiplier would be "
                f"{sigma:.3g} (over {MAX_NOISE:g}, the gradients would drown). A larger epsilon, fewer steps "
                f"(vae_steps=, diffusion_steps=), more rows, or a smaller batch_size would meet it")
        return cls(epsilon, delta, n_rows, batch_size, vae_steps, diffusion_steps, sigma)

    def spent(self, vae_steps: int, diffusion_steps: int) -> dict:
        """``privacy_``: the budget, its split and what the steps taken spent."""
        eps_p, delta_p = self.preprocessing
        eps_g, delta_g = self.gaussian
        spent_g = composed_epsilon(self.mechanisms(vae_steps, diffusion_steps), delta_g)
        q, s = self.sample_rate, self.noise_multiplier
        return {
            "epsilon": self.epsilon, "delta": self.delta, "spent_epsilon": eps_p + spent_g,
            "neighbouring": "tables that differ by one row (added or removed)",
            "accountant": "Opacus RDP (DP-SGD and the latent scaler), Laplace + basic composition (preprocessing)",
            "split": {
                "preprocessing": {"epsilon": eps_p, "delta": delta_p,
                                  "mechanisms": "Laplace histograms and counts; thresholded category counts"},
                "gaussian": {"epsilon": eps_g, "delta": delta_g, "spent_epsilon": spent_g},
                "vae": {"steps": vae_steps, "planned_steps": self.vae_steps, "noise_multiplier": s,
                        "sample_rate": q, "max_grad_norm": MAX_GRAD_NORM,
                        "epsilon_alone": composed_epsilon([(s, q, vae_steps)], delta_g)},
                "latent_scaler": {"noise_multiplier": SCALER_NOISE, "clip": LATENT_CLIP,
                                  "epsilon_alone": composed_epsilon([(SCALER_NOISE, 1.0, 2)], delta_g)},
                "denoiser": {"steps": diffusion_steps, "planned_steps": self.diffusion_steps, "noise_multiplier": s,
                             "sample_rate": q, "max_grad_norm": MAX_GRAD_NORM,
                             "epsilon_alone": composed_epsilon([(s, q, diffusion_steps)], delta_g)},
            },
            "public": "column names and dtypes, the categories of category dtypes, the number of rows",
            "training_rows_stored": False,
        }


def private_scaler(latents: torch.Tensor, generator: torch.Generator) -> LatentScaler:
    """A :class:`LatentScaler` from two Gaussian mechanisms (noise multiplier ``SCALER_NOISE``).

    Every latent coordinate is clipped to [-LATENT_CLIP, LATENT_CLIP], so one row moves the vector of sums
    by at most ``LATENT_CLIP * sqrt(dim)`` and the vector of sums of squares by ``LATENT_CLIP**2 * sqrt(dim)``
    (L2): the sensitivities the noise is scaled to.
    """
    n, dim = latents.shape
    z = latents.clamp(-LATENT_CLIP, LATENT_CLIP)
    noise = torch.randn((2, dim), generator=generator, device=generator.device).to(latents.device)
    root = math.sqrt(dim)
    mean = (z.sum(0) + SCALER_NOISE * LATENT_CLIP * root * noise[0]) / n
    second = (z.pow(2).sum(0) + SCALER_NOISE * LATENT_CLIP**2 * root * noise[1]) / n
    scaler = LatentScaler()
    scaler.mean_ = mean
    scaler.std_ = (second - mean.pow(2)).clamp_min(1e-2).sqrt()
    return scaler


def fit_private(df: pd.DataFrame, specs: list[ColumnSpec], settings: Settings, plan: DPPlan, *,
                device: torch.device, budget: TimeBudget, seed: int, verbose: bool):
    """(TabularModel, histories, privacy_) of a DP fit of ``df`` following ``plan``."""
    from tabsyn.tabular.model import TabularModel

    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    eps_p, delta_p = plan.preprocessing
    columns = private_columns(df, specs, eps_p, delta_p, rng)
    codec = TableCodec().fit(columns.surrogate, columns.specs)
    x_num, x_cat = codec.encode(columns.prepare(df))
    if x_num.shape[1] + x_cat.shape[1] == 0:
        raise SchemaError("every column of the table is ID-like; tabsyn needs at least one column to learn")
    x_num = torch.from_numpy(x_num).float().to(device)
    x_cat = torch.from_numpy(x_cat).to(device)

    cfg = VAEConfig(n_num=x_num.shape[1], cat_sizes=list(codec.cat_sizes), d_token=settings.d_token,
                    ffn_factor=settings.ffn_factor)
    vae = TabularVAE(cfg).to(device)
    for block in vae.modules():
        if isinstance(block, TransformerBlock):
            block.attention = "algebra"  # attention torch.func can take per-row gradients of, fast
    beta = {"value": MAX_BETA}

    def vae_row_loss(model, xn, xc):
        recon, kl, _ = vae_loss(model, xn, xc)
        return recon + beta["value"] * kl

    def beta_schedule(step: int) -> None:  # fixed: geometric from MAX_BETA to MIN_BETA over the steps
        beta["value"] = MAX_BETA * (MIN_BETA / MAX_BETA) ** min(1.0, (step + 1) / max(1, plan.vae_steps))

    vae_history, vae_steps = private_train(
        vae, (x_num, x_cat), row_loss=vae_row_loss, steps=plan.vae_steps, sample_rate=plan.sample_rate,
        noise_multiplier=plan.noise_multiplier, lr=settings.vae_lr, generator=gen,
        max_seconds=VAE_SHARE * budget.remaining() if budget.seconds is not None else None,
        on_step=beta_schedule, desc="VAE (DP)", verbose=verbose)
    for block in vae.modules():
        if isinstance(block, TransformerBlock):
            block.attention = "auto"
    vae.eval()
    latents = vae.latents(x_num, x_cat).float()
    scaler = private_scaler(latents, gen)
    z = scaler.encode(latents)

    dcfg = DenoiserConfig(dim=z.shape[1], width=settings.denoiser_width, n_num=x_num.shape[1],
                          cat_sizes=list(codec.cat_sizes))
    denoiser = LatentDenoiser(dcfg).to(device)
    layout, loss = denoiser.layout, EDMLoss(settings.noise_mean, settings.noise_std, SIGMA_DATA)

    def denoiser_losses(model, zb, cond):  # one loss per row, for ghost clipping
        return loss(model, zb, cond=cond).mean(1)

    def with_conditions(zb, xn, xc):  # a random share of each row's own cells as its condition
        known = layout.random_known(len(zb), settings.condition_rate, zb.device)
        return zb, layout.vector(xn, xc, *known)

    diffusion_history, diffusion_steps = private_train(
        denoiser, (z, x_num, x_cat), batch_losses=denoiser_losses, steps=plan.diffusion_steps,
        sample_rate=plan.sample_rate,
        noise_multiplier=plan.noise_multiplier, lr=settings.diffusion_lr, generator=gen,
        ema_decay=settings.ema_decay, batch_inputs=with_conditions,
        max_seconds=max(budget.remaining(), 1.0) if budget.seconds is not None else None,
        desc="diffusion (DP)", verbose=verbose)
    model = TabularModel(codec=codec, vae=vae, scaler=scaler, denoiser=denoiser.eval(),
                         sampling_steps=settings.sampling_steps, sampler=settings.sampler,
                         sigma_max=settings.sigma_max, ode_precision=settings.ode_precision)
    privacy = plan.spent(vae_steps, diffusion_steps)
    return model, {"vae": vae_history, "diffusion": diffusion_history}, privacy


def dp_settings(settings: Settings, vae_steps: int | None, diffusion_steps: int | None,
                denoiser_width: int | None) -> Settings:
    """The DP budgets and denoiser width (``DP_VAE_STEPS``, ``DP_DIFFUSION_STEPS``, ``DP_DENOISER_WIDTH``),
    each unless the user set their own."""
    return replace(settings, vae_steps=vae_steps or min(settings.vae_steps, DP_VAE_STEPS),
                   diffusion_steps=diffusion_steps or min(settings.diffusion_steps, DP_DIFFUSION_STEPS),
                   denoiser_width=denoiser_width or min(settings.denoiser_width, DP_DENOISER_WIDTH))
