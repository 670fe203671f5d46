"""How the tokenizing VAE is trained: beta schedule, validation metrics, the recipe."""

from __future__ import annotations

from typing import Callable

import torch

from tabsyn import distributed
from tabsyn.tabular.fitting import epochs_for, minibatches, validation_schedule
from tabsyn.tabular.presets import Settings
from tabsyn.tabular.vae import EVAL_BLOCK, TabularVAE, VAEConfig, reconstruction, vae_loss
from tabsyn.training import History, TrainConfig, adam, train

MAX_BETA, MIN_BETA, BETA_DECAY = 1e-2, 1e-5, 0.7


class BetaSchedule:
    """TabSyn's KL weight: starts at ``MAX_BETA`` and shrinks by ``BETA_DECAY`` (down to
    ``MIN_BETA``) whenever validation reconstruction has not improved for ``patience`` epochs."""

    def __init__(self, patience: int, *, start: float = MAX_BETA, low: float = MIN_BETA, decay: float = BETA_DECAY):
        self.patience, self.low, self.decay = patience, low, decay
        self.value, self.best, self.bad = start, float("inf"), 0

    def update(self, recon: float) -> float:
        """Record an epoch's validation reconstruction; return the beta for the next epoch."""
        if recon < self.best:
            self.best, self.bad = recon, 0
        else:
            self.bad += 1
            if self.bad >= self.patience:
                self.value, self.bad = max(self.value * self.decay, self.low), 0
        return self.value


@torch.no_grad()
def validation_metrics(vae: TabularVAE, x_num: torch.Tensor, x_cat: torch.Tensor, *,
                       block: int = EVAL_BLOCK) -> dict[str, float]:
    """Reconstruction of held-out rows from mu, the latent the diffusion model learns.

    ``block`` rows at a time (each term is a mean over rows, so the blocks' means weighted
    by their rows give the whole's): memory stays bounded however many rows are held out.
    """
    totals = {"mse": 0.0, "ce": 0.0, "acc": 0.0}
    for i in range(0, len(x_num), block):
        num, cat = x_num[i:i + block], x_cat[i:i + block]
        recon_num, logits = vae.decode(vae.latents(num, cat).reshape(len(num), -1, vae.cfg.d_token))
        terms = reconstruction(recon_num, logits, num, cat)
        for key in totals:
            totals[key] += terms[key].item() * len(num)
    mean = {key: total / max(len(x_num), 1) for key, total in totals.items()}
    return {"val_recon": mean["mse"] + mean["ce"], "val_mse": mean["mse"], "val_ce": mean["ce"],
            "val_acc": mean["acc"]}


def fit_vae(x_num: torch.Tensor, x_cat: torch.Tensor, cat_sizes: list[int], train_idx, val_idx, s: Settings, *,
            max_seconds: float | None, verbose: bool) -> tuple[TabularVAE, History]:
    """Train a VAE on rows ``train_idx`` of the model arrays, judged on ``val_idx``; weights stay on their device.

    Under torchrun each rank trains on its shard of ``train_idx`` (:mod:`tabsyn.distributed`).
    """
    train_idx, batch = distributed.shard(train_idx), distributed.per_rank_batch(s.vae_batch)
    train_num, train_cat = x_num[train_idx], x_cat[train_idx]
    val_num, val_cat = x_num[val_idx], x_cat[val_idx]
    vae = _vae(x_num, cat_sizes, s)
    net = distributed.wrap(vae)  # DDP under torchrun: gradients averaged over the ranks
    every, beta_patience = validation_schedule(s.eval_every_steps, s.beta_patience_steps, len(train_idx), batch)
    beta = BetaSchedule(patience=beta_patience)

    def loss_fn(idx):
        recon, kl, _ = vae_loss(net, train_num[idx], train_cat[idx])
        return recon + beta.value * kl

    def validate(model):
        return {**validation_metrics(model, val_num, val_cat), "beta": beta.value}

    def decay_beta(epoch: int, record: dict) -> None:
        if "val_recon" in record:  # a validated epoch
            beta.update(record["val_recon"])

    config = TrainConfig(max_epochs=epochs_for(s.vae_steps, len(train_idx), batch), lr=s.vae_lr,
                         max_seconds=max_seconds, eval_every=every)
    history = train(vae, config=config, batches=minibatches(len(train_idx), batch), loss_fn=loss_fn,
                    validate=validate, monitor="val_recon", on_epoch_end=decay_beta, desc="VAE", verbose=verbose)
    return vae.eval(), history


def _vae(x_num: torch.Tensor, cat_sizes: list[int], s: Settings) -> TabularVAE:
    cfg = VAEConfig(n_num=x_num.shape[1], cat_sizes=list(cat_sizes), d_token=s.d_token, ffn_factor=s.ffn_factor)
    return TabularVAE(cfg).to(x_num.device)


def vae_probe(x_num: torch.Tensor, x_cat: torch.Tensor, cat_sizes: list[int], train_idx,
              s: Settings) -> tuple[Callable[[], None], int]:
    """One optimiser step of a throwaway VAE of the fit's sizes, on one batch of the training rows, as a
    callable (:mod:`tabsyn.tabular.estimate` times it), and the model columns: the latent's tokens."""
    idx = distributed.shard(train_idx)[:distributed.per_rank_batch(s.vae_batch)]
    vae, num, cat = _vae(x_num, cat_sizes, s), x_num[idx], x_cat[idx]
    optimizer = adam(vae.parameters(), lr=s.vae_lr)

    def step() -> None:
        recon, kl, _ = vae_loss(vae, num, cat)
        optimizer.zero_grad(set_to_none=True)
        (recon + MAX_BETA * kl).backward()
        optimizer.step()

    return step, x_num.shape[1] + x_cat.shape[1]
