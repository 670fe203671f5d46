"""TabSynthesizer: the one place that chains preprocessing, VAE and latent diffusion."""

from __future__ import annotations

import numbers
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import torch

from tabsyn.base import (
    BaseSynthesizer, check_choice, check_fraction, check_n, check_positive,
    check_random_state, resolve_device, torch_seed,
)
from tabsyn.diffusion.denoiser import MLPDenoiser
from tabsyn.diffusion.edm import EDMLoss, EDMPrecond
from tabsyn.persistence import ModelFileError
from tabsyn.tabular.conditioning import ConditionLayout
from tabsyn.table.guard import PrivacyGuard, check_quantile
from tabsyn.tabular.known import check_known_frame, conditions_frame
from tabsyn.tabular.sampling import SIGMA_DATA, NoiseCursor, TableSampler, combine_reports, fill_cells
from tabsyn.table.schema import ID, ColumnSpec, SchemaError, infer_schema
from tabsyn.tabular.transformer import TableTransformer
from tabsyn.tabular.vae import TabularVAE, VAEConfig, vae_loss
from tabsyn.training import History, TrainConfig, train


@dataclass(frozen=True)
class Settings:
    """Everything a preset fixes; any field can be overridden by a keyword argument."""

    vae_steps: int            # VAE optimiser steps (whole epochs, rounded up)
    diffusion_steps: int      # upper bound on diffusion optimiser steps (early stopping may end sooner)
    batch_size: int           # rows per optimiser step, both stages
    d_token: int              # latent width per column
    ffn_factor: int           # VAE feed-forward width = d_token * ffn_factor
    denoiser_width: int       # MLP denoiser width (TabSyn's dim_t)
    sampling_steps: int       # Heun steps (2 * steps - 1 denoiser calls)
    vae_lr: float
    diffusion_lr: float
    patience_steps: int       # diffusion steps without validation improvement before stopping
    beta_patience_steps: int  # VAE steps without improvement before beta decays
    ema_decay: float | None = None  # keep an EMA of the denoiser's weights (validated and kept)
    condition_rate: float = 0.5     # share of training rows that show the denoiser some of their cells
                                    # (at fast's higher lr and without EMA, 0.5 unsettled the missing rates)


# "default" is chosen by measurement on a 2-core CPU (README, "Speed and presets"):
# Adult fits in a few minutes. "paper" is the reference implementation's scale.
PRESETS = {
    "fast": Settings(vae_steps=500, diffusion_steps=1500, batch_size=512, d_token=4, ffn_factor=16,
                     denoiser_width=128, sampling_steps=20, vae_lr=2e-3, diffusion_lr=2e-3,
                     patience_steps=500, beta_patience_steps=100, condition_rate=0.25),
    "default": Settings(vae_steps=700, diffusion_steps=12000, batch_size=1024, d_token=4, ffn_factor=32,
                        denoiser_width=256, sampling_steps=30, vae_lr=2e-3, diffusion_lr=1e-3,
                        patience_steps=1500, beta_patience_steps=110, ema_decay=0.999),
    # The reference's 4000 VAE and 10000 diffusion epochs (patience 500) at its batch of
    # 4096, counted in steps for a table of Adult's size (7 batches an epoch).
    "paper": Settings(vae_steps=28000, diffusion_steps=70000, batch_size=4096, d_token=4, ffn_factor=32,
                      denoiser_width=1024, sampling_steps=50, vae_lr=1e-3, diffusion_lr=1e-3,
                      patience_steps=3500, beta_patience_steps=70),
}

MAX_BETA, MIN_BETA, BETA_DECAY = 1e-2, 1e-5, 0.7
GUARD_HELD_OUT_ROWS = 2000  # held-out rows whose distances set the privacy guard's threshold
GUIDANCE_SCALE = 1.5        # classifier-free guidance toward known cells (benchmarks/conditional.py)


class TabSynthesizer(BaseSynthesizer):
    """Synthetic tables by latent diffusion (TabSyn, ICLR 2024).

    ``fit(df)`` infers each column's kind, trains a tokenizing VAE, then an
    EDM diffusion model on the VAE's latents; ``sample(n)`` integrates the
    probability-flow ODE from noise with Heun's method and decodes the result
    into a DataFrame with the columns and dtypes of ``df``.

    Parameters
    ----------
    preset : {"default", "fast", "paper"}, default="default"
        Sizes and budgets. "default" fits Adult (26k rows) in a few minutes on
        a 2-core CPU; "fast" is for quick looks and tests; "paper" is the
        reference implementation's scale (hours on a CPU; use a GPU).
    vae_steps, diffusion_steps, batch_size, d_token, denoiser_width, sampling_steps : int, optional
        Override the preset's value. Budgets are optimiser steps (rounded up to
        whole epochs), so a small table trains as long as a large one.
    time_budget : float, optional
        Wall-clock seconds for fit (40% VAE, 60% diffusion); stops a stage early.
        Results then depend on machine speed, so runs are only reproducible without it.
    validation_fraction : float, default=0.1
        Share of the rows held out inside ``fit`` for early stopping, beta decay
        and choosing the best weights. Nothing outside ``df`` is ever read.
    max_int_levels : int, default=20
        Integer columns with at most this many distinct values are categorical.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
    random_state : int, numpy Generator or None
        Seeds fit and the sampling stream (see ``sample``).
    verbose : bool, default=True
        Progress bars per stage; False prints nothing.

    Attributes
    ----------
    columns_ : list of ColumnSpec
        The inferred kind, dtype and missing count of every column.
    feature_names_in_ : ndarray of column labels
    n_features_in_ : int
    history_ : dict of {"vae": History, "diffusion": History}
        Per-epoch losses of both stages (``history_["vae"].records``).
    settings_ : dict
        The sizes and budgets fit used (preset plus overrides).
    guard_ : PrivacyGuard
        What ``sample(..., privacy_guard=...)`` compares rows with: hashes and
        encoded copies of the training rows, and held-out rows' distances.
    fit_seconds_ : float

    Examples
    --------
    >>> synth = TabSynthesizer(random_state=0).fit(df)                  # doctest: +SKIP
    >>> synthetic = synth.sample(1000, privacy_guard=True)                # doctest: +SKIP
    >>> women = synth.sample(100, conditions={"sex": "Female"})           # doctest: +SKIP
    >>> filled = synth.impute(df_with_missing_cells)                      # doctest: +SKIP
    """

    _fitted_attribute = "denoiser_"

    def __init__(
        self,
        *,
        preset: str = "default",
        vae_steps: int | None = None,
        diffusion_steps: int | None = None,
        batch_size: int | None = None,
        d_token: int | None = None,
        denoiser_width: int | None = None,
        sampling_steps: int | None = None,
        time_budget: float | None = None,
        validation_fraction: float = 0.1,
        max_int_levels: int = 20,
        device: str = "auto",
        random_state=None,
        verbose: bool = True,
    ):
        self.preset = preset
        self.vae_steps = vae_steps
        self.diffusion_steps = diffusion_steps
        self.batch_size = batch_size
        self.d_token = d_token
        self.denoiser_width = denoiser_width
        self.sampling_steps = sampling_steps
        self.time_budget = time_budget
        self.validation_fraction = validation_fraction
        self.max_int_levels = max_int_levels
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- parameters ------------------------------------------------------------
    def _settings(self) -> Settings:
        check_choice(self.preset, "preset", tuple(PRESETS))
        overrides = {}
        for name in ("vae_steps", "diffusion_steps", "batch_size", "d_token", "denoiser_width", "sampling_steps"):
            value = getattr(self, name)
            if value is not None:
                overrides[name] = check_positive(value, name, integer=True)
        settings = replace(PRESETS[self.preset], **overrides)
        if settings.sampling_steps < 2:
            raise ValueError(f"sampling_steps must be at least 2; got {settings.sampling_steps}")
        return settings

    def _validate_params(self) -> Settings:
        settings = self._settings()
        check_positive(self.time_budget, "time_budget", allow_none=True)
        check_fraction(self.validation_fraction, "validation_fraction", low=0.0, high=0.5)
        check_positive(self.max_int_levels, "max_int_levels", integer=True)
        if not isinstance(self.verbose, (bool, np.bool_)):
            raise TypeError(f"verbose must be True or False; got {self.verbose!r}")
        resolve_device(self.device)
        return settings

    # -- fit -------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, y=None) -> "TabSynthesizer":
        """Learn the table ``df``; returns ``self``. ``y`` is ignored (scikit-learn API)."""
        start = time.perf_counter()
        settings = self._validate_params()
        device = resolve_device(self.device)
        columns = infer_schema(df, max_int_levels=self.max_int_levels)
        rng = check_random_state(self.random_state)
        transformer = TableTransformer()
        x_num, x_cat = transformer.fit_transform(df, columns)
        if x_num.shape[1] + x_cat.shape[1] == 0:
            raise SchemaError(
                f"every column of the table is ID-like ({[c.name for c in columns]}); "
                f"tabsyn needs at least one numerical, categorical or datetime column to learn"
            )
        train_idx, val_idx = self._split(len(df), rng)
        budget = self.time_budget
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(torch_seed(rng))
            data = (torch.from_numpy(x_num).to(device), torch.from_numpy(x_cat).to(device))
            vae, vae_history = self._fit_vae(data, train_idx, val_idx, transformer.cat_sizes_, settings,
                                             None if budget is None else 0.4 * budget, device)
            latents = vae.latents(*data).float()
            mean, std = latents[train_idx].mean(0), latents[train_idx].std(0).clamp_min(1e-6)
            z = (latents - mean) / std * SIGMA_DATA
            remaining = None if budget is None else max(budget - (time.perf_counter() - start), 1.0)
            layout = ConditionLayout(x_num.shape[1], transformer.cat_sizes_)
            denoiser, diffusion_history = self._fit_diffusion(z, data, layout, train_idx, val_idx, settings,
                                                              remaining, device)

        self.columns_ = columns
        self.feature_names_in_ = np.asarray(df.columns, dtype=object)
        self.n_features_in_ = df.shape[1]
        self.settings_ = asdict(settings)
        self.transformer_ = transformer
        self.vae_ = vae.eval()
        self.latent_mean_, self.latent_std_ = mean.cpu(), std.cpu()
        self.denoiser_ = denoiser.eval()
        self.history_ = {"vae": vae_history, "diffusion": diffusion_history}
        self.device_ = device
        held_out = val_idx[:GUARD_HELD_OUT_ROWS] if len(val_idx) < len(df) else val_idx[:0]
        self.guard_ = PrivacyGuard(columns).fit(df, held_out)
        self._sample_rng = np.random.default_rng(rng.integers(0, 2**63))
        self._rows_sampled = 0
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _split(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Shuffle, then hold out ``validation_fraction`` (at least one row when asked for)."""
        order = rng.permutation(n)
        n_val = int(round(self.validation_fraction * n))
        if self.validation_fraction > 0 and n_val == 0 and n >= 4:
            n_val = 1
        if n_val == 0:  # no validation split: judge on the training rows
            return order, order
        return order[n_val:], order[:n_val]

    @staticmethod
    def _steps_per_epoch(n_rows: int, batch_size: int) -> int:
        """Batches an epoch; a last batch of a single row is dropped (as ``_minibatches`` does)."""
        size = min(batch_size, n_rows)
        full, rest = divmod(n_rows, size)
        return full + (rest >= 2)

    def _minibatches(self, n_rows: int, batch_size: int):
        """Shuffled mini-batches of indices, ``_steps_per_epoch`` of them."""
        def epoch():
            perm = torch.randperm(n_rows)
            size = min(batch_size, n_rows)
            for i in range(0, n_rows, size):
                if n_rows - i >= 2 or i == 0:
                    yield perm[i:i + size]
        return epoch

    def _fit_vae(self, data, train_idx, val_idx, cat_sizes, s: Settings, max_seconds, device):
        x_num, x_cat = data
        train_num, train_cat = x_num[train_idx], x_cat[train_idx]
        val_num, val_cat = x_num[val_idx], x_cat[val_idx]
        cfg = VAEConfig(n_num=x_num.shape[1], cat_sizes=list(cat_sizes), d_token=s.d_token, ffn_factor=s.ffn_factor)
        vae = TabularVAE(cfg).to(device)
        beta = {"value": MAX_BETA, "best": float("inf"), "bad": 0}

        def loss_fn(idx):
            recon, kl, _ = vae_loss(vae, train_num[idx], train_cat[idx])
            return recon + beta["value"] * kl

        def validate(model):
            # Judge reconstruction from mu, the latent the diffusion model learns.
            mu, logvar = model.encode(val_num, val_cat)
            recon_num, logits = model.decode(mu[:, 1:])
            mse = ((recon_num - val_num) ** 2).mean().item() if val_num.shape[1] else 0.0
            ce = (sum(torch.nn.functional.cross_entropy(lg, val_cat[:, j]) for j, lg in enumerate(logits)).item()
                  / len(logits)) if logits else 0.0
            acc = (sum((lg.argmax(-1) == val_cat[:, j]).float().mean() for j, lg in enumerate(logits)).item()
                   / len(logits)) if logits else 1.0
            return {"val_recon": mse + ce, "val_mse": mse, "val_ce": ce, "val_acc": acc, "beta": beta["value"]}

        def decay_beta(epoch, record):
            # Beta shrinks while reconstruction stops improving (TabSyn's schedule).
            if record["val_recon"] < beta["best"]:
                beta["best"], beta["bad"] = record["val_recon"], 0
            else:
                beta["bad"] += 1
                if beta["bad"] >= beta_patience:
                    beta["value"], beta["bad"] = max(beta["value"] * BETA_DECAY, MIN_BETA), 0

        per_epoch = self._steps_per_epoch(len(train_idx), s.batch_size)
        beta_patience = -(-s.beta_patience_steps // per_epoch)
        config = TrainConfig(max_epochs=-(-s.vae_steps // per_epoch), lr=s.vae_lr, max_seconds=max_seconds)
        history = train(vae, config=config, batches=self._minibatches(len(train_idx), s.batch_size),
                           loss_fn=loss_fn, validate=validate, monitor="val_recon",
                           on_epoch_end=decay_beta, desc="VAE", verbose=self.verbose)
        return vae, history

    def _fit_diffusion(self, z, data, layout: ConditionLayout, train_idx, val_idx, s: Settings, max_seconds, device):
        z_train, z_val = z[train_idx], z[val_idx]
        num_train, cat_train = data[0][train_idx], data[1][train_idx]
        denoiser = EDMPrecond(MLPDenoiser(z.shape[1], s.denoiser_width, d_cond=layout.dim)).to(device)
        loss = EDMLoss()
        val_seed = int(torch.randint(0, 2**31, ()).item())

        def loss_fn(idx):
            # A share of the rows show some of their own cells, so the denoiser also learns
            # every conditional the sampler may ask for (conditions, completing rows, imputation).
            known = layout.random_known(len(idx), s.condition_rate, device)
            cond = layout.vector(num_train[idx], cat_train[idx], *known)
            return loss(denoiser, z_train[idx], cond=cond).mean()

        def validate(model):
            # Fixed noise, so successive evaluations compare like with like.
            g = torch.Generator(device=device).manual_seed(val_seed)
            return {"val_loss": sum(loss(model, z_val, generator=g).mean().item() for _ in range(4)) / 4}

        per_epoch = self._steps_per_epoch(len(train_idx), s.batch_size)
        config = TrainConfig(max_epochs=-(-s.diffusion_steps // per_epoch), lr=s.diffusion_lr,
                             patience=-(-s.patience_steps // per_epoch), max_seconds=max_seconds,
                             ema_decay=s.ema_decay)
        history = train(denoiser, config=config, batches=self._minibatches(len(train_idx), s.batch_size),
                           loss_fn=loss_fn, validate=validate, monitor="val_loss",
                           desc="diffusion", verbose=self.verbose)
        return denoiser, history

    # -- sample ----------------------------------------------------------------
    def sample(self, n: int, *, conditions: dict | None = None, privacy_guard: bool | float = False,
               guidance_scale: float = GUIDANCE_SCALE, random_state=None, batch_size: int = 8192) -> pd.DataFrame:
        """Draw ``n`` synthetic rows as a DataFrame with the training table's columns and dtypes.

        Parameters
        ----------
        n : int
            Rows to draw.
        conditions : dict, optional
            ``{column: value}`` fixed in every row, e.g. ``{"sex": "Female", "age": 40}``.
            The other columns are drawn from the model conditioned on them (the
            denoiser learned every such conditional in fit; no rejection). Values must have been seen in training
            (categories) or lie in the seen range (numbers, dates); a missing
            value (None) is allowed where the column had missing values.
        privacy_guard : bool or float, default=False
            Redraw every row that is an exact copy of a training row, or closer
            to one than real rows the model never trained on are (the 0.01
            quantile of their distances; a float sets the quantile, 0 = exact
            copies only). What was replaced is in ``df.attrs["privacy_guard"]``.
            Not differential privacy: see :mod:`tabsyn.table.guard`.
        guidance_scale : float, default=1.5
            With conditions, classifier-free guidance: 1 draws from the model's
            conditional as it is, larger values follow the conditions more
            closely (1.5 matched real rows best on Adult), 0 ignores them.
        random_state : int, numpy Generator or None
            Without it, successive calls continue one stream seeded by the
            ``random_state`` given at construction, so two calls give different
            rows and the sequence of calls is reproducible. With it, the call
            draws from that seed alone and leaves the stream untouched.
        batch_size : int, default=8192
            Rows generated at a time. Row i depends only on the seed and i,
            never on ``batch_size``.
        """
        return self._concat(self.sample_batches(n, conditions=conditions, privacy_guard=privacy_guard,
                                                guidance_scale=guidance_scale, random_state=random_state,
                                                batch_size=batch_size))

    def sample_batches(self, n: int, *, conditions: dict | None = None, privacy_guard: bool | float = False,
                       guidance_scale: float = GUIDANCE_SCALE, random_state=None, batch_size: int = 8192):
        """Like :meth:`sample`, but yield the rows ``batch_size`` at a time (flat memory for large ``n``)."""
        self._check_fitted()
        n = check_n(n, "n")
        batch_size = check_n(batch_size, "batch_size")
        quantile = self._guard_quantile(privacy_guard)
        sampler, known = self._sampler(guidance_scale), None
        if conditions is not None:
            frame = conditions_frame(conditions, self.columns_)
            row = sampler.known_cells(frame, np.ones(frame.shape, bool), present=False)
            known = lambda start, rows: row.take(np.zeros(rows, dtype=np.int64))  # noqa: E731
        rng, base = self._stream(n, random_state)
        return self._batches(sampler, n, batch_size, rng, base, quantile, known)

    def sample_remaining_columns(self, known: pd.DataFrame, *, privacy_guard: bool | float = False,
                                 guidance_scale: float = GUIDANCE_SCALE, random_state=None,
                                 batch_size: int = 8192) -> pd.DataFrame:
        """Complete rows whose values in some columns are fixed, one output row per row of ``known``.

        ``known`` holds some of the table's columns; every cell of it is kept
        exactly as given (a missing value included, where the column had
        missing values) and the other columns are drawn conditioned on them. The result has every column, in the table's order and
        dtypes, with ``known``'s index. ``privacy_guard``, ``guidance_scale`` and
        ``random_state`` work as in :meth:`sample`. To fill only the missing cells of rows, use
        :meth:`impute`.
        """
        self._check_fitted()
        frame = check_known_frame(known, self.columns_, argument="known", all_columns=False)
        batch_size = check_n(batch_size, "batch_size")
        quantile = self._guard_quantile(privacy_guard)
        sampler, cells = self._sampler(guidance_scale), np.ones(frame.shape, bool)
        sampler.known_cells(frame, cells, present=False, encode=False)  # every bad value, before the stream moves
        rng, base = self._stream(len(frame), random_state)
        batches = self._batches(sampler, len(frame), batch_size, rng, base, quantile,
                                lambda start, rows: sampler.known_cells(frame.iloc[start:start + rows],
                                                                        cells[start:start + rows], present=False))
        out = self._concat(batches)
        out.index = known.index
        return out

    def impute(self, df: pd.DataFrame, *, draws: int = 10, guidance_scale: float = GUIDANCE_SCALE,
               random_state=None, batch_size: int = 8192) -> pd.DataFrame:
        """Fill the missing cells of ``df`` (every column of the table) from the model.

        Each row's missing cells are drawn ``draws`` times conditioned on its
        known cells; a number gets the mean of its draws, a
        category the most frequent draw. ``draws=1`` gives one random draw per
        cell, for multiple imputation. Known cells and ID columns are returned
        unchanged, in ``df``'s dtypes and index. ``guidance_scale`` and
        ``random_state`` work as in :meth:`sample`.
        """
        self._check_fitted()
        frame = check_known_frame(df, self.columns_, argument="df", all_columns=True)
        draws = check_n(draws, "draws")
        batch_size = check_n(batch_size, "batch_size")
        keep = [k for k, s in enumerate(self.columns_) if s.kind != ID]  # ID cells stay as given
        frame, cells = frame.iloc[:, keep], frame.iloc[:, keep].notna().to_numpy()
        sampler = self._sampler(guidance_scale)
        sampler.known_cells(frame, cells, present=True, encode=False)  # every bad value, before the stream moves
        rng, base = self._stream(len(frame) * draws, random_state)
        noise = NoiseCursor(rng, draws, sampler.dim)
        holes = np.flatnonzero(~cells.all(1))
        step = max(1, batch_size // draws)
        filled = [sampler.impute(frame.iloc[rows], cells[rows], rows, noise.rows(rows), draws, base).set_axis(rows)
                  for rows in (holes[i:i + step] for i in range(0, len(holes), step))]
        out = df.copy()
        if filled:
            generated = pd.concat(filled)
            for k, label in enumerate(frame.columns):
                missing = ~cells[:, k]
                if missing.any():
                    out[label] = fill_cells(out[label], missing, generated[label].loc[np.flatnonzero(missing)].to_numpy())
        return out

    # -- sampling helpers ---------------------------------------------------------
    def _sampler(self, guidance_scale: float = GUIDANCE_SCALE) -> TableSampler:
        if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, numbers.Real) or not guidance_scale >= 0:
            raise ValueError(f"guidance_scale must be a number >= 0 (1 = the plain conditional, "
                             f"default {GUIDANCE_SCALE}); got {guidance_scale!r}")
        return TableSampler(columns=self.columns_, transformer=self.transformer_, vae=self.vae_,
                            denoiser=self.denoiser_, latent_mean=self.latent_mean_, latent_std=self.latent_std_,
                            guard=self.guard_, steps=self.settings_["sampling_steps"], device=self.device_,
                            guidance_scale=float(guidance_scale))

    def _stream(self, rows: int, random_state) -> tuple[np.random.Generator, int]:
        """The generator and first stream position of a call; the instance stream advances past it."""
        if random_state is not None:
            return check_random_state(random_state), 0
        base = self._rows_sampled
        self._rows_sampled += rows
        return self._sample_rng, base

    @staticmethod
    def _guard_quantile(privacy_guard) -> float | None:
        if privacy_guard is False or privacy_guard is None:
            return None
        return check_quantile(privacy_guard)

    @staticmethod
    def _batches(sampler: TableSampler, n: int, batch_size: int, rng: np.random.Generator, base: int,
                 quantile: float | None, known_for=None):
        """Yield ``n`` rows ``batch_size`` at a time: noise from ``rng``, stream positions from ``base``."""
        for start in range(0, n, batch_size):
            rows = min(batch_size, n - start)
            noise = rng.standard_normal((rows, sampler.dim))
            known = None if known_for is None else known_for(start, rows)
            yield sampler.draw(noise, base + start + np.arange(rows, dtype=np.int64), known, quantile)

    @staticmethod
    def _concat(batches) -> pd.DataFrame:
        frames = list(batches)
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        report = combine_reports(frames)
        out.attrs = {} if report is None else {"privacy_guard": report}
        return out

    # -- persistence -------------------------------------------------------------
    def _fitted_state(self) -> dict:
        return {
            "columns": [c.to_dict() for c in self.columns_],
            "feature_names_in": list(self.feature_names_in_),
            "settings": dict(self.settings_),
            "transformer": self.transformer_.to_state(),
            "vae_config": asdict(self.vae_.cfg),
            "vae": {k: v.cpu() for k, v in self.vae_.state_dict().items()},
            "latent_dim": int(self.latent_mean_.numel()),
            "latent_mean": self.latent_mean_.cpu(),
            "latent_std": self.latent_std_.cpu(),
            "denoiser": {k: v.cpu() for k, v in self.denoiser_.state_dict().items()},
            "history": {k: h.to_dict() for k, h in self.history_.items()},
            "guard": self.guard_.to_state(),
            "sample_rng": self._sample_rng.bit_generator.state,
            "rows_sampled": self._rows_sampled,
            "fit_seconds": self.fit_seconds_,
        }

    def _restore_fitted_state(self, f: dict) -> None:
        try:
            device = resolve_device(self.device)
        except ValueError:  # e.g. fitted on a GPU, loaded where there is none
            device = torch.device("cpu")
        self.columns_ = [ColumnSpec(**c) for c in f["columns"]]
        self.feature_names_in_ = np.asarray(f["feature_names_in"], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.settings_ = dict(f["settings"])
        self.transformer_ = TableTransformer.from_state(f["transformer"])
        vae = TabularVAE(VAEConfig(**f["vae_config"]))
        layout = ConditionLayout(vae.cfg.n_num, vae.cfg.cat_sizes)
        denoiser = EDMPrecond(MLPDenoiser(f["latent_dim"], self.settings_["denoiser_width"], d_cond=layout.dim))
        try:
            vae.load_state_dict(f["vae"])
            denoiser.load_state_dict(f["denoiser"])
        except RuntimeError as exc:
            raise ModelFileError(
                f"the stored weights do not fit this tabsyn's networks ({str(exc).splitlines()[0]} ...); "
                f"the model was written by an incompatible tabsyn version: fit it again"
            ) from None
        self.vae_ = vae.to(device).eval()
        self.latent_mean_, self.latent_std_ = f["latent_mean"], f["latent_std"]
        self.denoiser_ = denoiser.to(device).eval()
        self.history_ = {k: History.from_dict(h) for k, h in f["history"].items()}
        self.guard_ = PrivacyGuard.from_state(f["guard"])
        self._sample_rng = np.random.default_rng()
        self._sample_rng.bit_generator.state = f["sample_rng"]
        self._rows_sampled = int(f["rows_sampled"])
        self.fit_seconds_ = float(f["fit_seconds"])
        self.device_ = device

