"""ImageDDPM: a class-conditional image DDPM behind the scikit-learn estimator interface.

``fit`` turns images into [-1, 1] tensors and trains the U-Net to predict the
noise of q(x_t | x_0) (Ho et al., 2020), with class dropout so one network is
both conditional and unconditional (classifier-free guidance, Ho & Salimans,
2022), through the shared loop of :mod:`tabsyn.training` (EMA weights, gradient
clipping, warm-up, history). ``sample`` runs DDIM or DDPM from per-image seeds
and hands the images back in the layout, dtype and value range ``fit`` saw.
"""

from __future__ import annotations

import numbers
import os
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tabsyn.base import (
    BaseSynthesizer,
    check_choice,
    check_fraction,
    check_n,
    check_positive,
    check_random_state,
    resolve_device,
    torch_seed,
)
from tabsyn.image.data import check_images, check_labels, encode_labels, to_layout
from tabsyn.image.plots import save_denoising_strip, save_grid
from tabsyn.image.samplers import SAMPLERS, ddim_sample, ddpm_sample
from tabsyn.image.schedule import BETA_SCHEDULES, NoiseSchedule
from tabsyn.image.unet import UNet
from tabsyn.training import History, TrainConfig, train


@dataclass(frozen=True)
class ImageSettings:
    base_channels: int                      # U-Net channels at full resolution
    channel_mults: tuple[int, ...]          # channel multiplier per resolution level
    num_res_blocks: int                     # ResNet blocks per level
    attention_resolutions: tuple[int, ...]  # feature-map sides with self-attention
    dropout: float                          # dropout inside ResNet blocks
    timesteps: int                          # T, diffusion steps
    epochs: int                             # passes over the training images
    batch_size: int
    lr: float                               # Adam learning rate (after warm-up)
    ema_decay: float                        # 0 turns EMA off
    warmup_steps: int                       # linear lr warm-up, in optimiser steps


# The three sizes of seed 002. `small` trains on a laptop CPU in minutes.
PRESETS = {
    "small": ImageSettings(32, (1, 2, 4), 1, (), 0.0, 500, 20, 128, 1e-3, 0.995, 200),
    "baseline": ImageSettings(64, (1, 2, 4, 8), 2, (7,), 0.1, 1000, 50, 128, 2e-4, 0.9995, 500),
    "large": ImageSettings(128, (1, 2, 3, 4), 3, (7, 14), 0.1, 1000, 100, 128, 2e-4, 0.9999, 1000),
}
_MIN_SIDE = 4  # preset levels whose feature maps would be smaller than this are dropped
PRECISIONS = ("float32", "bfloat16")


class ImageDDPM(BaseSynthesizer):
    """Denoising diffusion model for images, optionally class-conditional.

    Parameters
    ----------
    config : {"small", "baseline", "large"}
        Preset for the network size, T and the training schedule; the
        arguments below that default to None override single entries.
    epochs, batch_size, lr, timesteps : optional
        Training passes, batch size, Adam learning rate, diffusion steps T.
    beta_schedule : {"linear", "cosine"}
        Noise schedule of the forward process.
    base_channels, channel_mults, num_res_blocks, attention_resolutions, dropout : optional
        U-Net shape. Preset levels too deep for small images are dropped.
    class_dropout : float
        Probability of training on the null class instead of the label, which
        makes classifier-free guidance possible.
    ema_decay : float, optional
        Decay of the exponential moving average of the weights used for
        sampling; 0 samples with the raw weights.
    grad_clip : float or None
        Maximal global gradient norm.
    warmup_steps : int, optional
        Linear learning-rate warm-up, in optimiser steps.
    sample_every : int, optional
        Write a sample grid to ``sample_dir`` every this many epochs (drawn with
        the raw weights of that moment), and a final grid plus a denoising strip
        with the weights kept.
    sample_dir : str, optional
        Folder for those pictures.
    max_seconds : float, optional
        Wall-clock budget for training.
    precision : {"float32", "bfloat16"}
        Arithmetic of the training forward pass. "bfloat16" (autocast; weights,
        loss and sampling stay float32) roughly halves CPU training time on
        processors with AVX512-BF16 or AMX, and is slower on those without.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
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

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> digits = load_digits()
    >>> model = ImageDDPM(epochs=200, random_state=0).fit(digits.images / 16, digits.target)  # doctest: +SKIP
    >>> sevens = model.sample(16, y=7, guidance_scale=2.0)                                   # doctest: +SKIP
    """

    _fitted_attribute = "model_"

    def __init__(
        self,
        config: str = "small",
        *,
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
        random_state=None,
        verbose: bool = True,
    ):
        self.config = config
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
        self.random_state = random_state
        self.verbose = verbose

    # -- parameters ------------------------------------------------------------
    def _settings(self, image_side: int) -> ImageSettings:
        """The preset with this estimator's overrides applied and checked."""
        check_choice(self.config, "config", tuple(PRESETS))
        preset = PRESETS[self.config]
        over: dict[str, Any] = {}
        for name in ("epochs", "batch_size", "timesteps", "base_channels", "num_res_blocks"):
            if getattr(self, name) is not None:
                over[name] = int(check_positive(getattr(self, name), name, integer=True))
        if self.warmup_steps is not None:
            if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, numbers.Integral) or self.warmup_steps < 0:
                raise ValueError(f"warmup_steps must be a non-negative integer or None; got {self.warmup_steps!r}")
            over["warmup_steps"] = int(self.warmup_steps)
        if self.lr is not None:
            over["lr"] = float(check_positive(self.lr, "lr"))
        if self.dropout is not None:
            over["dropout"] = check_fraction(self.dropout, "dropout")
        if self.ema_decay is not None:
            over["ema_decay"] = check_fraction(self.ema_decay, "ema_decay")
        for name in ("channel_mults", "attention_resolutions"):
            value = getattr(self, name)
            if value is None:
                continue
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value
            )
            if not ok or (name == "channel_mults" and len(value) == 0):
                raise ValueError(f"{name} must be a tuple of positive integers; got {value!r}")
            over[name] = tuple(int(v) for v in value)
        if "channel_mults" not in over:
            # Keep only preset levels whose feature maps stay at least _MIN_SIDE pixels wide.
            mults, side = [preset.channel_mults[0]], image_side
            for m in preset.channel_mults[1:]:
                side = (side + 1) // 2
                if side < _MIN_SIDE:
                    break
                mults.append(m)
            over["channel_mults"] = tuple(mults)
        if over.get("timesteps", preset.timesteps) < 2:
            raise ValueError(f"timesteps must be at least 2; got {over['timesteps']}")
        return replace(preset, **over)

    def _check_params(self) -> None:
        check_choice(self.beta_schedule, "beta_schedule", BETA_SCHEDULES)
        check_choice(self.precision, "precision", PRECISIONS)
        check_fraction(self.class_dropout, "class_dropout")
        check_positive(self.grad_clip, "grad_clip", allow_none=True)
        check_positive(self.max_seconds, "max_seconds", allow_none=True)
        check_positive(self.sample_every, "sample_every", integer=True, allow_none=True)
        if self.sample_every is not None and not self.sample_dir:
            raise ValueError(f"sample_every={self.sample_every} needs sample_dir, the folder for the grids; got {self.sample_dir!r}")
        if not isinstance(self.verbose, (bool, np.bool_)):
            raise TypeError(f"verbose must be True or False; got {self.verbose!r}")

    # -- fit ----------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> "ImageDDPM":
        """Learn the images ``X`` (N, H, W) or (N, C, H, W), optionally with integer labels ``y``."""
        start = time.perf_counter()
        self._check_params()
        x01, ndim, dtype = check_images(X)
        classes, y_idx = (None, None) if y is None else check_labels(y, len(x01))
        settings = self._settings(min(x01.shape[-2:]))
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        n_classes = 0 if classes is None else len(classes)
        schedule = NoiseSchedule.from_name(self.beta_schedule, settings.timesteps)

        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(torch_seed(rng))
            model = self._build_unet(asdict(settings), x01.shape[1:], n_classes).to(device)
            images = torch.from_numpy(x01).to(device) * 2.0 - 1.0  # [0, 1] -> [-1, 1]
            labels = None if y_idx is None else torch.from_numpy(y_idx).to(device)
            history = self._train(model, schedule, images, labels, settings, n_classes, start)

        self.settings_ = {**asdict(settings), "beta_schedule": self.beta_schedule}
        self.schedule_ = schedule
        self.classes_ = classes
        self.image_shape_ = tuple(int(s) for s in x01.shape[1:])
        self._input_ndim, self._input_dtype = ndim, dtype
        self.history_ = history
        self.device_ = device
        self._sample_rng = np.random.default_rng(rng.integers(0, 2**63))
        self.model_ = model.eval()
        self.fit_seconds_ = time.perf_counter() - start
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

    def _train(self, model, schedule, images, labels, settings: ImageSettings, n_classes: int, start: float) -> History:
        """The epsilon-prediction loss, fed to the shared training loop."""
        n, bs = len(images), settings.batch_size
        deadline = None if self.max_seconds is None else start + self.max_seconds
        T, p_drop = schedule.timesteps, self.class_dropout
        bf16 = self.precision == "bfloat16"

        def batches():
            # One shuffled pass; stop mid-epoch when the time budget runs out.
            order = torch.randperm(n, device=images.device)
            for i in range(0, n, bs):
                idx = order[i : i + bs]
                yield images[idx], None if labels is None else labels[idx]
                if deadline is not None and time.perf_counter() > deadline:
                    return

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
            max_epochs=settings.epochs,
            lr=settings.lr,
            grad_clip=self.grad_clip,
            warmup_steps=settings.warmup_steps,
            ema_decay=settings.ema_decay or None,
            max_seconds=self.max_seconds,
        )
        history = train(model, config=config, batches=batches, loss_fn=loss_fn,
                           on_epoch_end=on_epoch_end, desc="ImageDDPM", verbose=self.verbose)
        return history

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
        if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, numbers.Real) or not guidance_scale >= 0:
            raise ValueError(f"guidance_scale must be a number >= 0; got {guidance_scale!r}")
        if steps is not None:
            steps = check_n(steps, "steps")
        if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not eta >= 0:
            raise ValueError(f"eta must be a number >= 0; got {eta!r}")
        if y is not None and self.classes_ is None:
            raise ValueError(f"y={y!r} was given but this ImageDDPM was fitted without labels; sample with y=None")
        y_idx = None if y is None else torch.from_numpy(encode_labels(y, n, self.classes_))
        rng = self._sample_rng if random_state is None else check_random_state(random_state)
        seeds = rng.integers(0, 2**63, size=n)
        device = self._sampling_device()
        out, frames = self._generate(self.model_.to(device), self.schedule_, self.image_shape_, seeds, y_idx,
                                     guidance_scale=float(guidance_scale), sampler=sampler, steps=steps,
                                     eta=float(eta), batch_size=batch_size,
                                     return_intermediates=return_intermediates, progress=self.verbose)
        images = to_layout(out, self._input_ndim, self._input_dtype)
        if return_intermediates:
            return images, np.stack([to_layout(f, self._input_ndim, self._input_dtype) for f in frames])
        return images

    def _sampling_device(self) -> torch.device:
        try:
            return resolve_device(self.device)
        except ValueError:  # e.g. fitted on a GPU, loaded on a machine without one
            return torch.device("cpu")

    @staticmethod
    def _generate(model, schedule, shape, seeds, y_idx, *, guidance_scale, sampler, steps, eta,
                  batch_size, return_intermediates, progress) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the sampler batch by batch from per-image seeds; returns [-1, 1] images (and frames) on the CPU."""
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        outs, frame_parts = [], []
        for lo in range(0, len(seeds), batch_size):
            # One CPU generator per image: its starting noise and every later draw depend on its seed only.
            gens = [torch.Generator().manual_seed(int(s)) for s in seeds[lo : lo + batch_size]]

            def draw(gens=gens):
                return torch.stack([torch.randn(shape, generator=g) for g in gens]).to(device)

            y_b = None if y_idx is None else y_idx[lo : lo + batch_size].to(device)
            kwargs = dict(y=y_b, guidance_scale=guidance_scale, noise_fn=draw,
                          return_intermediates=return_intermediates, progress=progress)
            if sampler == "ddim":
                result = ddim_sample(model, schedule, draw(), steps=steps or 50, eta=eta, **kwargs)
            else:
                result = ddpm_sample(model, schedule, draw(), steps=steps, **kwargs)
            x, frames = result if return_intermediates else (result, [])
            outs.append(x.float().cpu())
            frame_parts.append([f.float() for f in frames])
        model.train(was_training)
        frames = [torch.cat([part[k] for part in frame_parts]) for k in range(len(frame_parts[0]))]
        return torch.cat(outs), frames

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
            x, frames = self._generate(model, schedule, shape, seeds, y_idx, guidance_scale=2.0, sampler="ddim",
                                       steps=50, eta=0.0, batch_size=256, return_intermediates=strip,
                                       progress=False)
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
            "sample_rng": self._sample_rng.bit_generator.state,
            "fit_seconds": float(self.fit_seconds_),
        }

    def _restore_fitted_state(self, f: dict) -> None:
        device = self._sampling_device()
        self.settings_ = {k: tuple(v) if isinstance(v, list) else v for k, v in f["settings"].items()}
        self.schedule_ = NoiseSchedule.from_name(self.settings_["beta_schedule"], self.settings_["timesteps"])
        self.classes_ = None if f["classes"] is None else np.asarray(f["classes"], dtype=np.int64)
        self.image_shape_ = tuple(int(s) for s in f["image_shape"])
        self._input_ndim, self._input_dtype = int(f["input_ndim"]), str(f["input_dtype"])
        n_classes = 0 if self.classes_ is None else len(self.classes_)
        model = self._build_unet(self.settings_, self.image_shape_, n_classes)
        model.load_state_dict(f["model"])
        self.history_ = History.from_dict(f["history"])
        self._sample_rng = np.random.default_rng()
        self._sample_rng.bit_generator.state = f["sample_rng"]
        self.fit_seconds_ = float(f["fit_seconds"])
        self.device_ = device
        self.model_ = model.to(device).eval()
