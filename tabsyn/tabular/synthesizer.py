"""TabSynthesizer: parameters, argument checks and random streams around one fitted TabularModel."""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict

import numpy as np
import pandas as pd

from tabsyn.base import (
    BaseSynthesizer, SampleStream, check_bool, check_fraction, check_guidance_scale, check_n, check_non_negative,
    check_positive, check_random_state, load_device, resolve_device, seeded_torch,
)
from tabsyn import distributed
from tabsyn.distributed import device_of_rank
from tabsyn.table.guard import PrivacyGuard, check_quantile
from tabsyn.table.schema import ColumnSpec, infer_schema
from tabsyn.tabular.estimate import LONG_FIT_SECONDS, FitEstimate, LongFitWarning, is_long
from tabsyn.tabular.fitting import split_rows
from tabsyn.tabular.known import check_known_frame, conditions_frame
from tabsyn.tabular.model import TabularModel
from tabsyn.tabular.presets import OVERRIDABLE, Settings, model_columns, resolve_settings
from tabsyn.tabular.sampling import concat_batches, fill_frame, sample_rows
from tabsyn.threads import check_n_jobs, resolve_n_jobs, torch_threads
from tabsyn.training import History, StageClock, TimeBudget

GUARD_HELD_OUT_ROWS = 2000  # held-out rows whose distances set the privacy guard's threshold
GUIDANCE_SCALE = 1.5        # classifier-free guidance toward known cells (benchmarks/conditional.py)


class TabSynthesizer(BaseSynthesizer):
    """Synthetic tables by latent diffusion (TabSyn, ICLR 2024).

    ``fit(df)`` infers each column's kind and fits one stage after another
    (:mod:`tabsyn.tabular.model`); ``sample(n)`` runs them back from noise to a
    DataFrame with ``df``'s columns and dtypes.

    Parameters
    ----------
    preset : {"default", "fast", "paper"}, default="default"
        Sizes and budgets (:mod:`tabsyn.tabular.presets`): "fast" for quick looks,
        "paper" the reference implementation's scale (use a GPU).
    vae_steps, diffusion_steps, batch_size, d_token, denoiser_width, sampling_steps : int, optional
        Override the preset's value. Budgets are optimiser steps (rounded up to whole epochs). By
        default the batch follows the table: smaller for fewer rows, and for the VAE on a wide table
        (:mod:`tabsyn.tabular.presets`); a ``batch_size`` given is both stages' batch.
    sampler : {"heun", "dpm2m"}, optional
        The solver that carries noise to latents (:mod:`tabsyn.diffusion.sampler`): Heun costs
        2 * sampling_steps - 1 denoiser calls per row, DPM-Solver++(2M) sampling_steps calls.
        Default: the preset's.
    time_budget : float, optional
        Wall-clock seconds for fit (40% VAE); stops a stage early (then not reproducible).
    validation_fraction : float, default=0.1
        Share of ``df``'s rows held out for early stopping, beta decay and the best weights.
    max_int_levels : int, default=20
        Integer columns with at most this many distinct values are categorical.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
    n_jobs : int, optional
        CPU threads; None: the cores other processes leave idle (:mod:`tabsyn.threads`), -1: all.
    dp_epsilon : float, optional
        Make the whole fit (epsilon, delta)-differentially private with respect to adding or
        removing one row (:mod:`tabsyn.dp`; needs ``pip install "tabsyn[dp]"``): DP column
        statistics, DP-SGD for both networks, no validation split, no privacy guard, no training
        rows in the model. What was spent is in ``privacy_``.
    dp_delta : float, optional
        The delta of ``dp_epsilon``; default 1 / (10 n) for n training rows.
    random_state : int, numpy Generator or None
        Seeds fit and the sampling stream (see ``sample``).
    verbose : bool, default=True
        Progress bars per stage.

    Attributes
    ----------
    model_ : TabularModel
        The fitted stages (codec, VAE, latent scaler, denoiser).
    columns_ : list of ColumnSpec
        The inferred kind, dtype and missing count of every column.
    feature_names_in_, n_features_in_ : column labels and their count
    history_ : dict of {"vae": History, "diffusion": History}
        Per-epoch losses of both stages.
    settings_ : dict
        The sizes and budgets fit used (the preset scaled to the table, plus overrides).
    guard_ : PrivacyGuard or None
        What ``sample(..., privacy_guard=...)`` compares rows with (None after a DP fit).
    privacy_ : dict or None
        After a DP fit: epsilon, delta, the accountant, the split over the stages and what was spent.
    fit_seconds_ : float
        Wall-clock seconds of the whole ``fit`` call, from its first line to its last.
    fit_stages_ : dict of {str: float}
        Seconds of each stage of fit: "schema" (column kinds, validation split), "codec"
        (fit and encode), "estimate", "vae", "latents" (encoding every row), "denoiser",
        "guard" (the privacy guard's index).
    fit_estimate_ : FitEstimate or None
        How long the training steps were expected to take, measured on a few of them before
        training (:mod:`tabsyn.tabular.estimate`); None after a DP fit.

    Warns
    -----
    LongFitWarning
        A ``UserWarning``, before training starts, when the fit is estimated to take longer than
        10 minutes (``tabsyn.tabular.estimate.LONG_FIT_SECONDS``) and ``time_budget`` does not stop
        it sooner; it says the estimate, the table's shape and how to make the fit quicker.

    Examples
    --------
    >>> synth = TabSynthesizer(random_state=0).fit(df)              # doctest: +SKIP
    >>> synthetic = synth.sample(1000, privacy_guard=True)            # doctest: +SKIP
    >>> women = synth.sample(100, conditions={"sex": "Female"})       # doctest: +SKIP
    """

    _fitted_attribute = "model_"

    def __init__(self, *, preset: str = "default", vae_steps: int | None = None, diffusion_steps: int | None = None,
                 batch_size: int | None = None, d_token: int | None = None, denoiser_width: int | None = None,
                 sampling_steps: int | None = None, sampler: str | None = None, time_budget: float | None = None,
                 validation_fraction: float = 0.1, max_int_levels: int = 20, device: str = "auto",
                 n_jobs: int | None = None, dp_epsilon: float | None = None, dp_delta: float | None = None,
                 random_state=None, verbose: bool = True):
        self.preset = preset
        self.vae_steps = vae_steps
        self.diffusion_steps = diffusion_steps
        self.batch_size = batch_size
        self.d_token = d_token
        self.denoiser_width = denoiser_width
        self.sampling_steps = sampling_steps
        self.sampler = sampler
        self.time_budget = time_budget
        self.validation_fraction = validation_fraction
        self.max_int_levels = max_int_levels
        self.device = device
        self.n_jobs = n_jobs
        self.dp_epsilon = dp_epsilon
        self.dp_delta = dp_delta
        self.random_state = random_state
        self.verbose = verbose

    @property
    def columns_(self) -> list[ColumnSpec]:
        """The inferred kind, dtype and missing count of every column (the codec's)."""
        self._check_fitted()
        return self.model_.codec.specs

    def _settings(self, n_train: int | None = None, n_columns: int | None = None) -> Settings:
        """The preset, scaled to ``n_train`` training rows and ``n_columns`` model columns (when given),
        with the overrides."""
        return resolve_settings(self.preset, n_train, n_columns, sampler=self.sampler,
                                **{name: getattr(self, name) for name in OVERRIDABLE})

    def _validate_params(self) -> None:
        self._settings()
        check_positive(self.time_budget, "time_budget", allow_none=True)
        check_fraction(self.validation_fraction, "validation_fraction", low=0.0, high=0.5)
        check_positive(self.max_int_levels, "max_int_levels", integer=True)
        check_bool(self.verbose, "verbose")
        check_n_jobs(self.n_jobs)
        resolve_device(self.device)
        if self.dp_delta is not None and self.dp_epsilon is None:
            raise ValueError(f"dp_delta={self.dp_delta!r} needs dp_epsilon, the epsilon it goes with; without "
                             f"dp_epsilon the fit is not differentially private")

    def fit(self, df: pd.DataFrame, y=None) -> "TabSynthesizer":
        """Learn the table ``df``; returns ``self``. ``y`` is ignored (scikit-learn API)."""
        start, clock = time.perf_counter(), StageClock()
        self._validate_params()
        budget, device = TimeBudget(self.time_budget), device_of_rank(resolve_device(self.device))
        rng = check_random_state(self.random_state if self.random_state is not None or not distributed.active()
                                 else distributed.from_rank0(lambda: int(np.random.SeedSequence().entropy % 2**63)))
        with clock("schema"):
            columns = infer_schema(df, max_int_levels=self.max_int_levels)
        if self.dp_epsilon is not None:
            with clock("dp_fit"):  # its stages are not timed apart
                self._fit_private(df, columns, rng, device, budget)
        else:
            with clock("schema"):
                train_idx, val_idx = split_rows(len(df), self.validation_fraction, rng)
            settings = self._settings(len(train_idx), model_columns(columns))
            estimates = []
            with seeded_torch(rng, device), torch_threads(self.n_jobs):
                self.model_, self.history_ = TabularModel.fit(
                    df, columns, train_idx, val_idx, settings, device=device, budget=budget, verbose=self.verbose,
                    clock=clock, on_estimate=lambda e: estimates.append(self._warn_long(e)))
            self.fit_estimate_ = estimates[0]
            self.settings_ = asdict(settings)
            held_out = val_idx[:GUARD_HELD_OUT_ROWS] if len(val_idx) < len(df) else val_idx[:0]
            with clock("guard"):
                self.guard_, self.privacy_ = PrivacyGuard(columns).fit(df, held_out), None
        self.feature_names_in_, self.n_features_in_ = np.asarray(df.columns, dtype=object), df.shape[1]
        self._stream = SampleStream.seeded_from(rng)
        self.fit_stages_ = dict(clock.seconds)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _fit_private(self, df: pd.DataFrame, columns, rng, device, budget: TimeBudget) -> None:
        """The DP fit (:mod:`tabsyn.dp.fit`): every row trains, no guard; ``privacy_`` says what was spent."""
        from tabsyn.dp.fit import DPPlan, check_budget, dp_settings, fit_private
        from tabsyn.dp.sgd import opacus

        if distributed.active():
            raise ValueError("dp_epsilon is not supported under torchrun yet: fit a DP model in one process")
        epsilon, delta = check_budget(self.dp_epsilon, self.dp_delta, len(df))
        opacus()  # the extra, before any work
        settings = dp_settings(self._settings(len(df)), self.vae_steps, self.diffusion_steps, self.denoiser_width)
        plan = DPPlan.make(epsilon, delta, len(df), settings.batch_size, settings.vae_steps, settings.diffusion_steps)
        with seeded_torch(rng, device), torch_threads(self.n_jobs):
            seed = int(rng.integers(2**62))
            self.model_, self.history_, self.privacy_ = fit_private(df, columns, settings, plan, device=device,
                                                                    budget=budget, seed=seed, verbose=self.verbose)
        self.settings_ = {**asdict(settings), "dp": self.privacy_["split"]}
        self.guard_, self.fit_estimate_ = None, None

    def _warn_long(self, estimate: FitEstimate) -> FitEstimate:
        """Warn before training when ``estimate`` is over ``LONG_FIT_SECONDS`` (and time_budget is not)."""
        if is_long(estimate, self.time_budget) and distributed.is_writer():
            quicker = ["preset='fast'"] if self.preset != "fast" else []
            quicker += ["time_budget=SECONDS (each stage stops early, then not reproducible)",
                        "fewer vae_steps / diffusion_steps"]
            warnings.warn(LongFitWarning(
                f"this fit is estimated to take {estimate.describe()}, more than {LONG_FIT_SECONDS / 60:g} min; "
                f"for a quicker one: {', '.join(quicker)}", estimate), stacklevel=5)  # the caller of fit
        return estimate

    def sample(self, n: int, *, conditions: dict | None = None, privacy_guard: bool | float = False,
               guidance_scale: float = GUIDANCE_SCALE, random_state=None, batch_size: int = 8192,
               start: int = 0, strict_guard: bool = False) -> pd.DataFrame:
        """Draw ``n`` synthetic rows as a DataFrame with the training table's columns and dtypes.

        Parameters
        ----------
        n : int
            Rows to draw.
        conditions : dict, optional
            ``{column: value}`` fixed in every row, e.g. ``{"sex": "Female", "age": 40}``; the other
            columns are drawn conditioned on them. Values must have been seen in training (categories,
            or None where the column had missing values) or lie in the seen range (numbers, dates).
        privacy_guard : bool or float, default=False
            Redraw every row that is an exact copy of a training row, or closer to one than real rows
            the model never trained on are (the 0.01 quantile of their distances; a float sets the
            quantile, 0 = exact copies only). Reported in ``df.attrs["privacy_guard"]``, with the
            fallback taken where the rule cannot apply (``strict_guard=True`` raises instead); not
            differential privacy (:mod:`tabsyn.table.guard`).
        guidance_scale : float, default=1.5
            With conditions, classifier-free guidance: 1 = the model's conditional, more follows them closer.
        random_state : int, numpy Generator or None
            Without it, successive calls continue one stream seeded at fit (reproducible as a
            sequence); with it, the call draws from that seed alone and leaves the stream as it is.
        batch_size : int, default=8192
            Rows generated at a time. Row i depends only on the seed and i, never on ``batch_size``.
        start : int, default=0
            With ``random_state``: draw rows ``start .. start + n - 1`` of its stream (one shard of a
            larger sample: shards concatenated are the one-call sample, to the bit).
        """
        return concat_batches(self.sample_batches(n, conditions=conditions, privacy_guard=privacy_guard,
                                                  guidance_scale=guidance_scale, random_state=random_state,
                                                  batch_size=batch_size, start=start, strict_guard=strict_guard))

    def sample_batches(self, n: int, *, conditions: dict | None = None, privacy_guard: bool | float = False,
                       guidance_scale: float = GUIDANCE_SCALE, random_state=None, batch_size: int = 8192,
                       start: int = 0, strict_guard: bool = False):
        """Like :meth:`sample`, but yield the rows ``batch_size`` at a time (flat memory for large ``n``)."""
        self._check_fitted()
        n, batch_size = check_n(n, "n"), check_n(batch_size, "batch_size")
        known = None if conditions is None else self.model_.fixed_cells(conditions_frame(conditions, self.columns_))
        return self._rows(n, batch_size, random_state, (privacy_guard, strict_guard), guidance_scale, known, start)

    def sample_remaining_columns(self, known: pd.DataFrame, *, privacy_guard: bool | float = False,
                                 guidance_scale: float = GUIDANCE_SCALE, random_state=None,
                                 batch_size: int = 8192, strict_guard: bool = False) -> pd.DataFrame:
        """Complete rows whose values in some columns are fixed, one output row per row of ``known``.

        Every cell of ``known`` (some of the table's columns; missing values too) is kept as given,
        the other columns are drawn conditioned on them; the result has every column, in the table's
        order and dtypes, and ``known``'s index. Keywords as in :meth:`sample`; see also :meth:`impute`.
        """
        self._check_fitted()
        frame = check_known_frame(known, self.columns_, argument="known", all_columns=False)
        batch_size, cells = check_n(batch_size, "batch_size"), np.ones(frame.shape, bool)
        self.model_.known_cells(frame, cells, present=False, encode=False)  # every bad value, before the stream moves
        out = concat_batches(self._rows(len(frame), batch_size, random_state, (privacy_guard, strict_guard),
                                        guidance_scale,
                                        lambda start, rows: self.model_.known_cells(
                                            frame.iloc[start:start + rows], cells[start:start + rows], present=False)))
        out.index = known.index
        return out

    def impute(self, df: pd.DataFrame, *, draws: int = 10, guidance_scale: float = GUIDANCE_SCALE,
               random_state=None, batch_size: int = 8192) -> pd.DataFrame:
        """Fill the missing cells of ``df`` (every column of the table) from the model.

        Each row's missing cells are drawn ``draws`` times conditioned on its known cells; a number
        gets the mean of its draws, a category the most frequent (``draws=1``: one random draw, for
        multiple imputation). Known cells and ID columns come back unchanged, in ``df``'s dtypes and
        index. Keywords as in :meth:`sample`.
        """
        self._check_fitted()
        frame = check_known_frame(df, self.columns_, argument="df", all_columns=True)
        draws, batch_size = check_n(draws, "draws"), check_n(batch_size, "batch_size")
        guidance = check_guidance_scale(guidance_scale, default=GUIDANCE_SCALE)
        frame, cells = self.model_.holes(frame)  # every bad value, before the stream moves
        seed, base = self._stream.take(len(frame) * draws, random_state)
        with torch_threads(self.n_jobs):
            generated = self.model_.impute(frame, cells, seed=seed, base=base, draws=draws, batch_size=batch_size,
                                           guidance_scale=guidance)
        return fill_frame(df, generated[list(frame.columns)], cells)  # ID columns stay as given

    def _rows(self, n: int, batch_size: int, random_state, guard: tuple, guidance_scale, known_for=None, start=0):
        """Rows from the stream (or from ``random_state``, from position ``start`` on), ``batch_size`` at a time."""
        privacy_guard, strict = guard[0], check_bool(guard[1], "strict_guard")
        quantile = None if privacy_guard is False or privacy_guard is None else check_quantile(privacy_guard)
        if quantile is not None and self.guard_ is None:
            raise ValueError(f"privacy_guard={privacy_guard!r}: this model was fitted with differential privacy "
                             f"(epsilon {self.privacy_['epsilon']:g}), which keeps no training rows to compare "
                             f"with; its rows are already covered by the DP guarantee. Use privacy_guard=False")
        guidance = check_guidance_scale(guidance_scale, default=GUIDANCE_SCALE)
        if check_non_negative(start, "start", integer=True) and random_state is None:
            raise ValueError(f"start={start} needs random_state: the stream of the seed whose rows it counts")
        seed, base = self._stream.take(n, random_state)
        return sample_rows(self.model_, self.guard_, n=n, batch_size=batch_size, seed=seed, base=base + start,
                           quantile=quantile, guidance_scale=guidance, known_for=known_for, strict=strict,
                           n_jobs=resolve_n_jobs(self.n_jobs))  # measured once per call, not per batch

    def _fitted_state(self) -> dict:
        return {"feature_names_in": list(self.feature_names_in_), "settings": dict(self.settings_),
                "model": self.model_.to_state(), "history": {k: h.to_dict() for k, h in self.history_.items()},
                "guard": None if self.guard_ is None else self.guard_.to_state(), "privacy": self.privacy_,
                **self._stream.to_state(), "fit_seconds": self.fit_seconds_, "fit_stages": dict(self.fit_stages_),
                "fit_estimate": None if self.fit_estimate_ is None else asdict(self.fit_estimate_)}

    def _restore_fitted_state(self, f: dict) -> None:
        self.model_ = TabularModel.from_state(f["model"]).to(load_device(self.device))
        self.feature_names_in_ = np.asarray(f["feature_names_in"], dtype=object)
        self.n_features_in_, self.settings_ = len(self.feature_names_in_), dict(f["settings"])
        self.history_ = {k: History.from_dict(h) for k, h in f["history"].items()}
        self.guard_ = None if f["guard"] is None else PrivacyGuard.from_state(f["guard"])
        self.privacy_ = f.get("privacy")
        self._stream = SampleStream.from_state(f)
        self.fit_seconds_ = float(f["fit_seconds"])
        self.fit_stages_ = {k: float(v) for k, v in f.get("fit_stages", {}).items()}  # older files have none
        self.fit_estimate_ = FitEstimate(**f["fit_estimate"]) if f.get("fit_estimate") else None
