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
from tabsyn.diffusion.sampler import heun_sample, inpainting_denoiser
from tabsyn.tabular.guard import GuardReport, PrivacyGuard, PrivacyGuardError, check_quantile
from tabsyn.tabular.known import KnownCells, check_known_frame, conditions_frame
from tabsyn.tabular.schema import ID, ColumnSpec, SchemaError, infer_schema
from tabsyn.tabular.transformer import KnownValueError, TableTransformer
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


# "default" is chosen by measurement on a 2-core CPU (README, "Speed and presets"):
# Adult fits in a few minutes. "paper" is the reference implementation's scale.
PRESETS = {
    "fast": Settings(vae_steps=500, diffusion_steps=1500, batch_size=512, d_token=4, ffn_factor=16,
                     denoiser_width=128, sampling_steps=20, vae_lr=2e-3, diffusion_lr=2e-3,
                     patience_steps=500, beta_patience_steps=100),
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
SIGMA_DATA = 0.5         # latents are scaled to this standard deviation per dimension (EDM's sigma_data)
MAX_REDRAWS = 20         # privacy guard: redraws of a row before giving up
GUARD_HELD_OUT_ROWS = 2000  # held-out rows whose distances set the guard's threshold


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
    fit_seconds_ : float

    Examples
    --------
    >>> synth = TabSynthesizer(random_state=0).fit(df)      # doctest: +SKIP
    >>> synthetic = synth.sample(1000)                        # doctest: +SKIP
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
            denoiser, diffusion_history = self._fit_diffusion(z, train_idx, val_idx, settings, remaining, device)

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
        history, _ = train(vae, config=config, batches=self._minibatches(len(train_idx), s.batch_size),
                           loss_fn=loss_fn, validate=validate, monitor="val_recon",
                           on_epoch_end=decay_beta, desc="VAE", verbose=self.verbose)
        return vae, history

    def _fit_diffusion(self, z, train_idx, val_idx, s: Settings, max_seconds, device):
        z_train, z_val = z[train_idx], z[val_idx]
        denoiser = EDMPrecond(MLPDenoiser(z.shape[1], s.denoiser_width)).to(device)
        loss = EDMLoss()
        val_seed = int(torch.randint(0, 2**31, ()).item())

        def loss_fn(idx):
            return loss(denoiser, z_train[idx]).mean()

        def validate(model):
            # Fixed noise, so successive evaluations compare like with like.
            g = torch.Generator(device=device).manual_seed(val_seed)
            return {"val_loss": sum(loss(model, z_val, generator=g).mean().item() for _ in range(4)) / 4}

        per_epoch = self._steps_per_epoch(len(train_idx), s.batch_size)
        config = TrainConfig(max_epochs=-(-s.diffusion_steps // per_epoch), lr=s.diffusion_lr,
                             patience=-(-s.patience_steps // per_epoch), max_seconds=max_seconds,
                             ema_decay=s.ema_decay)
        history, _ = train(denoiser, config=config, batches=self._minibatches(len(train_idx), s.batch_size),
                           loss_fn=loss_fn, validate=validate, monitor="val_loss",
                           desc="diffusion", verbose=self.verbose)
        return denoiser, history

    # -- sample ----------------------------------------------------------------
    def sample(self, n: int, *, conditions: dict | None = None, privacy_guard: bool | float = False,
               random_state=None, batch_size: int = 8192) -> pd.DataFrame:
        """Draw ``n`` synthetic rows as a DataFrame with the training table's columns and dtypes.

        Parameters
        ----------
        n : int
            Rows to draw.
        conditions : dict, optional
            ``{column: value}`` fixed in every row, e.g. ``{"sex": "Female", "age": 40}``.
            The other columns are drawn conditioned on them by inpainting in the
            latent space (no rejection). Values must have been seen in training
            (categories) or lie in the seen range (numbers, dates); a missing
            value (None) is allowed where the column had missing values.
        privacy_guard : bool or float, default=False
            Redraw every row that is an exact copy of a training row, or closer
            to one than real rows the model never trained on are (the 0.01
            quantile of their distances; a float sets the quantile, 0 = exact
            copies only). What was replaced is in ``df.attrs["privacy_guard"]``.
            Not differential privacy: see :mod:`tabsyn.tabular.guard`.
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
                                                random_state=random_state, batch_size=batch_size))

    def sample_batches(self, n: int, *, conditions: dict | None = None, privacy_guard: bool | float = False,
                       random_state=None, batch_size: int = 8192):
        """Like :meth:`sample`, but yield the rows ``batch_size`` at a time (flat memory for large ``n``)."""
        self._check_fitted()
        n = check_n(n, "n")
        batch_size = check_n(batch_size, "batch_size")
        quantile = self._guard_quantile(privacy_guard)
        known = None
        if conditions is not None:
            frame = conditions_frame(conditions, self.columns_)
            row = self._known_cells(frame, np.ones(frame.shape, bool), present=False)
            known = lambda start, rows: row.take(np.zeros(rows, dtype=np.int64))  # noqa: E731
        rng, base = self._stream(n, random_state)
        return self._sample_stream(n, batch_size, rng, base, quantile, known)

    def sample_remaining_columns(self, known: pd.DataFrame, *, privacy_guard: bool | float = False,
                                 random_state=None, batch_size: int = 8192) -> pd.DataFrame:
        """Complete rows whose values in some columns are fixed, one output row per row of ``known``.

        ``known`` holds some of the table's columns; every cell of it is kept
        exactly as given (a missing value included, where the column had
        missing values) and the other columns are drawn conditioned on them by
        latent inpainting. The result has every column, in the table's order and
        dtypes, with ``known``'s index. ``privacy_guard`` and ``random_state``
        work as in :meth:`sample`. To fill only the missing cells of rows, use
        :meth:`impute`.
        """
        self._check_fitted()
        frame = check_known_frame(known, self.columns_, argument="known", all_columns=False)
        batch_size = check_n(batch_size, "batch_size")
        quantile = self._guard_quantile(privacy_guard)
        cells = np.ones(frame.shape, bool)
        self._known_cells(frame, cells, present=False, encode=False)  # every bad value, before the stream moves
        rng, base = self._stream(len(frame), random_state)
        batches = self._sample_stream(len(frame), batch_size, rng, base, quantile,
                                lambda start, rows: self._known_cells(frame.iloc[start:start + rows],
                                                                      cells[start:start + rows], present=False))
        out = self._concat(batches)
        out.index = known.index
        return out

    def impute(self, df: pd.DataFrame, *, draws: int = 10, random_state=None, batch_size: int = 8192) -> pd.DataFrame:
        """Fill the missing cells of ``df`` (every column of the table) from the model.

        Each row's missing cells are drawn ``draws`` times conditioned on its
        known cells (latent inpainting); a number gets the mean of its draws, a
        category the most frequent draw. ``draws=1`` gives one random draw per
        cell, for multiple imputation. Known cells and ID columns are returned
        unchanged, in ``df``'s dtypes and index.
        """
        self._check_fitted()
        frame = check_known_frame(df, self.columns_, argument="df", all_columns=True)
        draws = check_n(draws, "draws")
        batch_size = check_n(batch_size, "batch_size")
        ids = [k for k, s in enumerate(self.columns_) if s.kind == ID]
        cells = frame.notna().to_numpy()
        cells[:, ids] = True
        holes = np.flatnonzero(~cells.all(1))
        out = df.copy()
        keep = [k for k in range(frame.shape[1]) if k not in ids]
        self._known_cells(frame.iloc[:, keep], cells[:, keep], present=True, encode=False)  # every bad value first
        rng, base = self._stream(len(frame) * draws, random_state)
        noise = _NoiseCursor(rng, draws, self.latent_mean_.numel())
        filled, step = [], max(1, batch_size // draws)
        for start in range(0, len(holes), step):
            rows = holes[start:start + step]
            known = self._known_cells(frame.iloc[rows, keep], cells[np.ix_(rows, keep)], present=True)
            repeat = np.repeat(np.arange(len(rows)), draws)
            z = self._latent_sample(noise.rows(rows), known.take(repeat))
            x_num, x_cat = self._decode(z, known.forbid_missing[repeat])
            x_num = self.transformer_.average_draws(x_num.reshape(len(rows), draws, x_num.shape[1]).transpose(1, 0, 2))
            x_cat = _most_frequent(x_cat.reshape(len(rows), draws, x_cat.shape[1]))
            generated = self.transformer_.inverse_transform(x_num, x_cat, positions=base + rows * draws)
            filled.append(known.restore(generated).set_axis(rows))
        if filled:
            generated = pd.concat(filled)
            for k in keep:
                label = frame.columns[k]
                missing = np.zeros(len(frame), bool)
                missing[holes] = ~cells[holes, k]
                if missing.any():
                    out[label] = _fill(out[label], missing, generated.iloc[:, k].loc[np.flatnonzero(missing)].to_numpy())
        return out

    # -- sampling machinery ------------------------------------------------------
    def _stream(self, rows: int, random_state) -> tuple[np.random.Generator, int]:
        """The generator and first stream position of a call; the instance stream advances past it."""
        if random_state is not None:
            return check_random_state(random_state), 0
        base = self._rows_sampled
        self._rows_sampled += rows
        return self._sample_rng, base

    def _guard_quantile(self, privacy_guard) -> float | None:
        if privacy_guard is False or privacy_guard is None:
            return None
        return check_quantile(privacy_guard)

    def _sample_stream(self, n: int, batch_size: int, rng: np.random.Generator, base: int,
                 quantile: float | None, known_for=None):
        """Yield ``n`` rows ``batch_size`` at a time: noise from ``rng``, positions from ``base``."""
        dim = self.latent_mean_.numel()
        for start in range(0, n, batch_size):
            rows = min(batch_size, n - start)
            noise = rng.standard_normal((rows, dim))
            known = None if known_for is None else known_for(start, rows)
            yield self._draw(noise, base + start + np.arange(rows, dtype=np.int64), known, quantile)

    def _draw(self, noise: np.ndarray, positions: np.ndarray, known: KnownCells | None,
              quantile: float | None) -> pd.DataFrame:
        """Rows for ``noise``; with a guard quantile, redraw rows too close to a real one."""
        frame = self._generate(noise, positions, known)
        if quantile is None:
            return frame
        exact, close = self.guard_.check(frame, quantile)
        report = GuardReport(rows=len(frame), exact_copies=int(exact.sum()), too_close=int(close.sum()),
                             threshold=self.guard_.threshold(quantile), quantile=quantile)
        bad = np.flatnonzero(exact | close)
        report.replaced = len(bad)
        noise = noise.copy()
        for attempt in range(1, MAX_REDRAWS + 1):
            if not len(bad):
                break
            noise[bad] = _redraw_noise(noise[bad], attempt)
            new = self._generate(noise[bad], positions[bad], None if known is None else known.take(bad))
            report.redraws += len(bad)
            new.index = frame.index[bad]
            frame = pd.concat([frame.drop(index=frame.index[bad]), new]).sort_index()
            exact, close = self.guard_.check(new, quantile)
            bad = bad[exact | close]
        if len(bad):
            raise PrivacyGuardError(
                f"privacy_guard: after {MAX_REDRAWS} redraws, {len(bad)} of {len(frame)} rows were still copies "
                f"of real rows or closer to one than {report.threshold:.4g}; the table may hold few distinct "
                f"rows ({len(self.guard_.keys_)} distinct in training). Pass a lower quantile "
                f"(privacy_guard=0 replaces exact copies only) or privacy_guard=False"
            )
        frame.attrs["privacy_guard"] = report.to_dict()
        return frame

    @staticmethod
    def _concat(batches) -> pd.DataFrame:
        frames = list(batches)
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        reports = [f.attrs["privacy_guard"] for f in frames if "privacy_guard" in f.attrs]
        out.attrs = {}
        if reports:
            total = GuardReport()
            for r in reports:
                total = total.add(GuardReport(**r))
            out.attrs["privacy_guard"] = total.to_dict()
        return out

    def _generate(self, noise: np.ndarray, positions: np.ndarray, known: KnownCells | None) -> pd.DataFrame:
        """Noise -> Heun ODE (inpainting any known cells) -> decode -> inverse transform."""
        z = self._latent_sample(noise, known)
        x_num, x_cat = self._decode(z, None if known is None else known.forbid_missing)
        frame = self.transformer_.inverse_transform(x_num, x_cat, positions=positions)
        return frame if known is None else known.restore(frame)

    def _latent_sample(self, noise: np.ndarray, known: KnownCells | None) -> torch.Tensor:
        device = self.device_
        x = torch.from_numpy(noise).float().to(device)
        steps = self.settings_["sampling_steps"]
        if known is None or not known.latent_mask.any():
            return heun_sample(self.denoiser_, x, num_steps=steps).float()
        target = torch.from_numpy(known.latent).to(device)
        mask = torch.from_numpy(known.latent_mask).to(device)
        denoiser = inpainting_denoiser(self.denoiser_, target, mask, sigma_data=SIGMA_DATA)
        return heun_sample(denoiser, x, num_steps=steps, mask=mask, known=target).float()

    def _known_cells(self, frame: pd.DataFrame, cells: np.ndarray, *, present: bool,
                     encode: bool = True) -> KnownCells | None:
        """Known cells of partial rows -> their normalised latents, latent mask and exact values.

        ID columns in ``frame`` are not conditioned on; their values are kept as given.
        With ``encode=False``, only check the values (raising for any the model cannot take).
        """
        kinds = {s.name: s for s in self.columns_}
        is_id = np.array([kinds[c].kind == ID for c in frame.columns], dtype=bool)
        encoded = self.transformer_.encode_known(frame.loc[:, ~is_id], cells[:, ~is_id], present=present)
        if not encode:
            return None
        latent = self._encode(encoded.x_num, encoded.x_cat)
        tokens = np.concatenate([encoded.num_known, encoded.cat_known], axis=1)
        mask = np.repeat(tokens, self.vae_.cfg.d_token, axis=1)
        values, value_cells = encoded.values, cells[:, ~is_id]
        if is_id.any():
            ids = frame.loc[:, is_id].reset_index(drop=True)
            for k, label in enumerate(ids.columns):
                try:
                    ids[label] = ids[label].astype(kinds[label].dtype)
                except (TypeError, ValueError):
                    raise KnownValueError(f"column {label!r} holds IDs of dtype {kinds[label].dtype}; got "
                                          f"{ids[label].iloc[0]!r}, which is not one") from None
            values = pd.concat([values, ids], axis=1)
            value_cells = np.concatenate([value_cells, cells[:, is_id]], axis=1)
        return KnownCells(latent, mask, encoded.forbid_missing, values, value_cells)

    @torch.no_grad()
    def _encode(self, x_num: np.ndarray, x_cat: np.ndarray) -> np.ndarray:
        """Model arrays -> normalised latents, as the diffusion model was trained on them."""
        device = self.device_
        latents = self.vae_.latents(torch.from_numpy(x_num).to(device), torch.from_numpy(x_cat).to(device)).float()
        z = (latents - self.latent_mean_.to(device)) / self.latent_std_.to(device) * SIGMA_DATA
        return z.cpu().numpy()

    @torch.no_grad()
    def _decode(self, z: torch.Tensor, forbid_missing: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        latents = z / SIGMA_DATA * self.latent_std_.to(z.device) + self.latent_mean_.to(z.device)
        tokens = latents.reshape(len(z), -1, self.vae_.cfg.d_token)
        x_num, logits = self.vae_.decode(tokens)
        if forbid_missing is not None and forbid_missing.any():
            forbid = torch.from_numpy(forbid_missing).to(z.device)
            for j, code in enumerate(self.transformer_.missing_codes()):
                if code is not None and bool(forbid[:, j].any()):
                    logits[j][forbid[:, j], code] = -torch.inf
        x_cat = torch.stack([lg.argmax(-1) for lg in logits], dim=1) if logits else torch.zeros(len(z), 0, dtype=torch.long)
        return x_num.cpu().numpy().astype(np.float64), x_cat.cpu().numpy()

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
        vae.load_state_dict(f["vae"])
        self.vae_ = vae.to(device).eval()
        self.latent_mean_, self.latent_std_ = f["latent_mean"], f["latent_std"]
        denoiser = EDMPrecond(MLPDenoiser(f["latent_dim"], self.settings_["denoiser_width"]))
        denoiser.load_state_dict(f["denoiser"])
        self.denoiser_ = denoiser.to(device).eval()
        self.history_ = {k: History.from_dict(h) for k, h in f["history"].items()}
        self.guard_ = PrivacyGuard.from_state(f["guard"])
        self._sample_rng = np.random.default_rng()
        self._sample_rng.bit_generator.state = f["sample_rng"]
        self._rows_sampled = int(f["rows_sampled"])
        self.fit_seconds_ = float(f["fit_seconds"])
        self.device_ = device


class _NoiseCursor:
    """Standard normal noise for rows in increasing order, ``draws`` rows of the stream per row.

    Row i always gets stream rows ``i * draws ... (i + 1) * draws - 1``, whichever rows
    are asked for together, so a result never depends on batching.
    """

    def __init__(self, rng: np.random.Generator, draws: int, dim: int):
        self.rng, self.draws, self.dim, self.next_row = rng, draws, dim, 0

    def rows(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows) * self.draws, self.dim))
        for k, row in enumerate(rows):
            while self.next_row < row:  # skip rows with nothing to draw, a block at a time
                skip = min(row - self.next_row, 4096)
                self.rng.standard_normal((skip * self.draws, self.dim))
                self.next_row += skip
            out[k * self.draws:(k + 1) * self.draws] = self.rng.standard_normal((self.draws, self.dim))
            self.next_row += 1
        return out


def _redraw_noise(noise: np.ndarray, attempt: int) -> np.ndarray:
    """Fresh noise for each row, a function of the row's previous noise and the attempt number."""
    out = np.empty_like(noise)
    for i, row in enumerate(noise):
        words = np.ascontiguousarray(row, dtype=np.float64).view(np.uint32).tolist()
        out[i] = np.random.default_rng([*words, attempt]).standard_normal(noise.shape[1])
    return out


def _most_frequent(codes: np.ndarray) -> np.ndarray:
    """(rows, draws, columns) codes -> the most frequent code per row and column (ties: the smallest)."""
    rows, draws, columns = codes.shape
    out = np.zeros((rows, columns), np.int64)
    row_of = np.repeat(np.arange(rows), draws)
    for j in range(columns):
        counts = np.zeros((rows, int(codes[:, :, j].max()) + 1), np.int64)
        np.add.at(counts, (row_of, codes[:, :, j].ravel()), 1)
        out[:, j] = counts.argmax(1)
    return out


def _fill(column: pd.Series, missing: np.ndarray, values: np.ndarray) -> pd.Series:
    """``column`` with ``values`` in its ``missing`` cells, keeping its dtype where the values allow."""
    other = column.to_numpy(dtype=object, copy=True)
    other[missing] = values
    try:
        filled = column.where(~missing, other)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"impute: cannot write the imputed values of column {column.name!r} into its dtype "
                        f"{column.dtype}: {exc}") from None
    if filled.dtype != column.dtype:
        try:
            filled = filled.astype(column.dtype)
        except (TypeError, ValueError):
            pass
    return filled
