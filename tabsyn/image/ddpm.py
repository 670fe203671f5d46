"""ImageDDPM: a class-conditional image DDPM behind the scikit-learn estimator interface.

``fit`` turns images into [-1, 1] tensors and trains the U-Net to predict the
noise of q(x_t | x_0) (Ho et al., 2020), with class dropout so one network is
both conditional and unconditional (classifier-free guidance, Ho & Salimans,
2022), through the shared loop of :mod:`tabsyn.training` (EMA weights, gradient
clipping, warm-up, history). ``sample`` runs DDIM or DDPM from per-image seeds
and hands the images back in the layout, dtype and value range ``fit`` saw.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tabsyn.base import (
    BaseSynthesizer,
    SampleStream,
    batches,
    check_bool,
    check_choice,
    check_fraction,
    check_guidance_scale,
    check_n,
    check_non_negative,
    check_positive,
    check_random_state,
    load_device,
    position_seeds,
    resolve_device,
    seeded_torch,
)
from tabsyn.image.data import check_images, check_labels, encode_labels, to_layout
from tabsyn.image.plots import save_denoising_strip, save_grid
from tabsyn.image.presets import ImageSettings, epochs_for, resolve_settings
from tabsyn.image.samplers import SAMPLERS, sample_from_seeds
from tabsyn.image.schedule import BETA_SCHEDULES, NoiseSchedule
from tabsyn.image.unet import UNet
from tabsyn.threads import check_n_jobs, torch_threads
from tabsyn.training import History, TimeBudget, TrainConfig, train

PRECISIONS = ("float32", "bfloat16")


class ImageDDPM(BaseSynthesizer):
    """Denoising diffusion model for images, optionally class-conditional.

    Parameters
    ----------
    config : {"small", "baseline", "large"}
        Preset for the network size, T and the training schedule; the
        arguments below that default to None override single entries.
    steps, epochs : int, optional
        Training budget: optimiser steps (the preset's: 1,500 "small", 25,000 "baseline",
        50,000 "large"; whole passes over the images), or passes over the images when given.
    batch_size, lr, timesteps : optional
        Batch size, Adam learning rate, diffusion steps T.
    beta_schedule : {"linear", "cosine"}
        Noise schedule of the forward process.
    base_channels, channel_mults, num_res_blocks, attention_resolutions, dropout : optional
        U-Net shape. Preset levels too deep for small images are dropped.
    class_dropout : float
        Probability of training on the null class instead of the label (classifier-free guidance).
    ema_decay : float, optional
        Decay of the moving average of the weights used for sampling; 0: the raw weights.
    grad_clip : float or None
        Maximal global gradient norm.
    warmup_steps : int, optional
        Linear learning-rate warm-up, in optimiser steps.
    sample_every : int, optional
        Write a sample grid to ``sample_dir`` every this many epochs (raw weights of that
        moment), and a final grid plus a denoising strip with the weights kept.
    sample_dir : str, optional
        Folder for those pictures.
    max_seconds : float, optional
        Wall-clock budget for training.
    precision : {"float32", "bfloat16"}
        Arithmetic of the training forward pass. "bfloat16" (autocast; weights, loss and sampling
        stay float32) roughly halves CPU training time with AVX512-BF16 or AMX, slower without.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    n_jobs : int, optional
        CPU threads; None: the cores other processes leave idle (:mod:`tabsyn.threads`), -1: all.
    random_state : int, numpy Generator or None
        Seeds initialisation and training, and the stream ``sample`` draws from.
    verbose : bool
        Show progress bars.

    Attributes
    ----------
    model_ : UNet
        The trained noise-prediction network (EMA weights unless ``ema_decay=0``).
    schedule_ : NoiseSchedule
        The forward process it was trained for.
    classes_ : ndarray of int or None
        Sorted labels seen in ``fit``; None when fitted without labels.
    image_shape_ : tuple of int
        (C, H, W) of the training images.
    settings_ : dict
        The resolved configuration.
    history_ : History
        Per-epoch training loss and time.
    fit_seconds_ : float
        Wall seconds of ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> digits = load_digits()
    >>> model = ImageDDPM(random_state=0).fit(digits.images / 16, digits.target)  # doctest: +SKIP
    >>> sevens = model.sample(16, y=7, guidance_scale=2.0)                                   # doctest: +SKIP
    """

    _fitted_attribute = "model_"

    def __init__(
        self,
        config: str = "small",
        *,
        steps: int | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        timesteps: int | None = None,
        beta_schedule: str = "linear",
        base_channels: int | None = None,
        channel_mults: tuple[int, ...] | None = None,
        num_res_blocks: int | None = None,
        attention_resolutions: tuple[int, ...] | None = None,
        dropout: float | None = None,
        class_dropout: float = 0.1,
        ema_decay: float | None = None,
        grad_clip: float | None = 1.0,
        warmup_steps: int | None = None,
        sample_every: int | None = None,
        sample_dir: str | None = None,
        max_seconds: float | None = None,
        precision: str = "float32",
        device: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: bool = True,
    ):
        self.config = config
        self.steps = steps
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.timesteps = timesteps
        self.beta_schedule = beta_schedule
        self.base_channels = base_channels
        self.channel_mults = channel_mults
        self.num_res_blocks = num_res_blocks
        self.attention_resolutions = attention_resolutions
        self.dropout = dropout
        self.class_dropout = class_dropout
        self.ema_decay = ema_decay
        self.grad_clip = grad_clip
        self.warmup_steps = warmup_steps
        self.sample_every = sample_every
        self.sample_dir = sample_dir
        self.max_seconds = max_seconds
        self.precision = precision
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # -- parameters ------------------------------------------------------------
    def _settings(self, image_side: int) -> ImageSettings:
        """The preset with this estimator's overrides applied and checked."""
        names = ("steps", "epochs", "batch_size", "lr", "timesteps", "base_channels", "channel_mults", "num_res_blocks",
                 "attention_resolutions", "dropout", "ema_decay", "warmup_steps")
        return resolve_settings(self.config, image_side, **{name: getattr(self, name) for name in names})

    def _check_params(self) -> None:
        check_choice(self.beta_schedule, "beta_schedule", BETA_SCHEDULES)
        check_choice(self.precision, "precision", PRECISIONS)
        check_fraction(self.class_dropout, "class_dropout")
        check_positive(self.grad_clip, "grad_clip", allow_none=True)
        check_positive(self.max_seconds, "max_seconds", allow_none=True)
        check_positive(self.sample_every, "sample_every", integer=True, allow_none=True)
        if self.sample_every is not None and not self.sample_dir:
            raise ValueError(f"sample_every={self.sample_every} needs sample_dir, the folder for the grids; "
                             f"got {self.sample_dir!r}")
        check_bool(self.verbose, "verbose")
        check_n_jobs(self.n_jobs)

    # -- fit ----------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> "ImageDDPM":
        """Learn the images ``X`` (N, H, W) or (N, C, H, W), optionally with integer labels ``y``."""
        self._check_params()
        budget = TimeBudget(self.max_seconds)  # counts from here, setup included
        x01, ndim, dtype = check_images(X)
        classes, y_idx = (None, None) if y is None else check_labels(y, len(x01))
        settings = self._settings(min(x01.shape[-2:]))
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        n_classes = 0 if classes is None else len(classes)
        schedule = NoiseSchedule.from_name(self.beta_schedule, settings.timesteps)
        with seeded_torch(rng, device), torch_threads(self.n_jobs):
            model = self._build_unet(asdict(settings), x01.shape[1:], n_classes).to(device)
            images = torch.from_numpy(x01).to(device) * 2.0 - 1.0  # [0, 1] -> [-1, 1]
            labels = None if y_idx is None else torch.from_numpy(y_idx).to(device)
            history = self._train(model, schedule, images, labels, settings, n_classes, budget)

        self.settings_ = {**asdict(settings), "epochs": epochs_for(settings, len(x01)),
                          "beta_schedule": self.beta_schedule}
        self.schedule_ = schedule
        self.classes_ = classes
        self.image_shape_ = tuple(int(s) for s in x01.shape[1:])
        self._input_ndim, self._input_dtype = ndim, dtype
        self.history_ = history
        self.device_ = device
        self._stream = SampleStream.seeded_from(rng)
        self.model_ = model.eval()
        self.fit_seconds_ = budget.elapsed()
        if self.sample_every is not None:
            self._write_pictures(model, schedule, self.image_shape_, n_classes, "final", strip=True)
        return self

    @staticmethod
    def _build_unet(settings: dict, image_shape: tuple[int, ...], n_classes: int) -> UNet:
        return UNet(
            in_channels=int(image_shape[0]),
            base_channels=settings["base_channels"],
            channel_mults=tuple(settings["channel_mults"]),
            num_res_blocks=settings["num_res_blocks"],
            attention_resolutions=tuple(settings["attention_resolutions"]),
            num_classes=n_classes,
            dropout=settings["dropout"],
            image_size=(int(image_shape[1]), int(image_shape[2])),
        )

    def _train(self, model, schedule, images, labels, settings: ImageSettings, n_classes: int,
               budget: TimeBudget) -> History:
        """The epsilon-prediction loss, fed to the shared training loop with what is left of ``budget``."""
        n, bs = len(images), settings.batch_size
        T, p_drop = schedule.timesteps, self.class_dropout
        bf16 = self.precision == "bfloat16"

        def epoch_batches():
            # One shuffled pass over the images.
            order = torch.randperm(n, device=images.device)
            for start, rows in batches(n, bs):
                idx = order[start : start + rows]
                yield images[idx], None if labels is None else labels[idx]

        def loss_fn(batch):
            x0, y = batch
            # t ~ U{0..T-1}, eps ~ N(0, I), x_t ~ q(x_t | x_0); the label is dropped to the null class with prob p.
            t = torch.randint(0, T, (len(x0),), device=x0.device)
            eps = torch.randn_like(x0)
            x_t = schedule.q_sample(x0, t, eps)
            if y is not None and p_drop > 0:
                y = torch.where(torch.rand(len(y), device=y.device) < p_drop, torch.full_like(y, n_classes), y)
            with torch.autocast(x0.device.type, dtype=torch.bfloat16, enabled=bf16):
                eps_pred = model(x_t, t, y)
            return F.mse_loss(eps_pred.float(), eps)

        def on_epoch_end(epoch: int, record: dict) -> None:
            if self.sample_every is not None and (epoch + 1) % self.sample_every == 0:
                self._write_pictures(model, schedule, tuple(images.shape[1:]), n_classes,
                                     f"epoch_{epoch + 1:04d}", strip=False)
                model.train()

        config = TrainConfig(
            max_epochs=epochs_for(settings, n),
            lr=settings.lr,
            grad_clip=self.grad_clip,
            warmup_steps=settings.warmup_steps,
            ema_decay=settings.ema_decay or None,
            max_seconds=None if self.max_seconds is None else budget.remaining(),
        )
        return train(model, config=config, batches=epoch_batches, loss_fn=loss_fn,
                     on_epoch_end=on_epoch_end, desc="ImageDDPM", verbose=self.verbose)

    # -- sample ---------------------------------------------------------------------
    def sample(
        self,
        n: int,
        y: Any = None,
        *,
        guidance_scale: float = 2.0,
        sampler: str = "ddim",
        steps: int | None = None,
        eta: float = 0.0,
        random_state=None,
        batch_size: int = 256,
        return_intermediates: bool = False,
    ):
        """Draw ``n`` images in the layout, dtype and value range of the training images.

        Parameters
        ----------
        n : int
            Number of images.
        y : int or array-like of n ints, optional
            Class of every image (one int: all the same). None draws
            unconditionally (the null class).
        guidance_scale : float
            Classifier-free guidance s >= 0: eps = eps_uncond + s (eps_cond - eps_uncond);
            1 is the plain conditional model, larger values follow the class harder.
        sampler : {"ddim", "ddpm"}
            DDIM (deterministic for eta=0) or DDPM ancestral sampling.
        steps : int, optional
            Denoising steps: default 50 for DDIM, all T for DDPM (fewer respaces the schedule).
        eta : float
            DDIM noise (0 deterministic, 1 DDPM-like); ignored by "ddpm".
        random_state : int, numpy Generator or None
            Seed for this call alone. Without it, successive calls continue one
            stream seeded by the estimator's ``random_state``. Image i depends
            only on the seed and i, never on ``batch_size``.
        batch_size : int
            Images per network call.
        return_intermediates : bool
            Also return about ten snapshots from pure noise to the result, as
            an array of shape (frames, n, ...) in the output's layout.

        Returns
        -------
        ndarray, or (ndarray, ndarray) with ``return_intermediates``
        """
        self._check_fitted()
        n = check_n(n, "n")
        batch_size = check_n(batch_size, "batch_size")
        check_choice(sampler, "sampler", SAMPLERS)
        guidance_scale = check_guidance_scale(guidance_scale, default=2.0)
        steps = None if steps is None else check_n(steps, "steps")
        eta = float(check_non_negative(eta, "eta"))
        check_bool(return_intermediates, "return_intermediates")
        if y is not None and self.classes_ is None:
            raise ValueError(f"y={y!r} was given but this ImageDDPM was fitted without labels; sample with y=None")
        y_idx = None if y is None else torch.from_numpy(encode_labels(y, n, self.classes_))
        seed, base = self._stream.take(n, random_state)
        seeds = position_seeds(seed, base + np.arange(n))
        model = self.model_.to(load_device(self.device))
        with torch_threads(self.n_jobs):
            out, frames = sample_from_seeds(model, self.schedule_, self.image_shape_, seeds, y_idx, sampler=sampler,
                                            steps=steps, eta=eta, guidance_scale=guidance_scale,
                                            batch_size=batch_size, return_intermediates=return_intermediates,
                                            progress=self.verbose)
        images = to_layout(out, self._input_ndim, self._input_dtype)
        if return_intermediates:
            return images, np.stack([to_layout(f, self._input_ndim, self._input_dtype) for f in frames])
        return images

    # -- pictures during and after fit ---------------------------------------------------
    def _write_pictures(self, model, schedule: NoiseSchedule, shape: tuple[int, ...], n_classes: int,
                        name: str, *, strip: bool) -> None:
        """A grid (8 per class, or 64) from fixed seeds, and optionally a denoising strip, into sample_dir."""
        os.makedirs(self.sample_dir, exist_ok=True)
        labels_known = n_classes > 0
        per_class = 8
        y_idx = torch.arange(n_classes).repeat_interleave(per_class) if labels_known else None
        count = n_classes * per_class if labels_known else 64
        seeds = np.random.default_rng(0).integers(0, 2**63, size=count)
        with torch.no_grad():
            x, frames = sample_from_seeds(model, schedule, shape, seeds, y_idx, sampler="ddim", steps=50,
                                          guidance_scale=2.0, return_intermediates=strip)
        to01 = lambda t: ((t + 1) / 2).clamp(0, 1).numpy()  # noqa: E731
        save_grid(to01(x), os.path.join(self.sample_dir, f"{name}.png"),
                  labels=None if y_idx is None else y_idx.numpy())
        if strip:
            pick = slice(None, None, per_class) if labels_known else slice(0, 8)
            save_denoising_strip([to01(f[pick]) for f in frames],
                                 os.path.join(self.sample_dir, f"{name}_denoising.png"))

    # -- persistence ------------------------------------------------------------------
    def _fitted_state(self) -> dict:
        return {
            "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in self.settings_.items()},
            "classes": self.classes_,
            "image_shape": list(self.image_shape_),
            "input_ndim": self._input_ndim,
            "input_dtype": self._input_dtype,
            "model": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
            "history": self.history_.to_dict(),
            **self._stream.to_state(),
            "fit_seconds": float(self.fit_seconds_),
        }

    def _restore_fitted_state(self, f: dict) -> None:
        device = load_device(self.device)
        self.settings_ = {k: tuple(v) if isinstance(v, list) else v for k, v in f["settings"].items()}
        self.schedule_ = NoiseSchedule.from_name(self.settings_["beta_schedule"], self.settings_["timesteps"])
        self.classes_ = None if f["classes"] is None else np.asarray(f["classes"], dtype=np.int64)
        self.image_shape_ = tuple(int(s) for s in f["image_shape"])
        self._input_ndim, self._input_dtype = int(f["input_ndim"]), str(f["input_dtype"])
        n_classes = 0 if self.classes_ is None else len(self.classes_)
        model = self._build_unet(self.settings_, self.image_shape_, n_classes)
        model.load_state_dict(f["model"])
        self.history_ = History.from_dict(f["history"])
        self._stream = SampleStream.from_state(f)
        self.fit_seconds_ = float(f["fit_seconds"])
        self.device_ = device
        self.model_ = model.to(device).eval()
