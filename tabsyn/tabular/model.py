"""The fitted tabular model: one chain of stages, each with an ``encode`` and a ``decode`` side.

::

    fit:     DataFrame -> TableCodec.encode -> (x_num, x_cat) -> TabularVAE.latents -> LatentScaler.encode -> z
             -> LatentDenoiser (EDM loss on z)
    sample:  noise -> LatentDenoiser.sample -> z -> LatentScaler.decode -> TabularVAE.decode
                   -> TableCodec.decode -> DataFrame

:class:`TabularModel` holds the four fitted stages: :meth:`TabularModel.fit`
fits them one after another and :meth:`TabularModel.sample` runs them back;
``TabSynthesizer`` keeps the parameters, argument checks and random streams.
Known cells (conditions, completing rows, imputation) enter as the denoiser's
condition and are written back exactly at the end. Every network runs on :class:`RowBlocks`, so a row
depends on its own noise and position only.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Callable

import numpy as np
import pandas as pd
import torch

from tabsyn import distributed
from tabsyn.base import position_noise
from tabsyn.persistence import ModelFileError
from tabsyn.table.schema import ID, ColumnSpec, SchemaError
from tabsyn.tabular.codec import TableCodec
from tabsyn.tabular.estimate import FitEstimate, estimate_fit
from tabsyn.tabular.known import KnownCells, KnownValueError
from tabsyn.tabular.latent import ODE_PRECISIONS, LatentDenoiser, LatentScaler, fit_denoiser
from tabsyn.tabular.presets import Settings
from tabsyn.tabular.sampling import ROW_BLOCK, RowBlocks, most_frequent
from tabsyn.tabular.vae import TabularVAE, VAEConfig
from tabsyn.tabular.vae_training import fit_vae
from tabsyn.training import History, StageClock, TimeBudget

VAE_SHARE = 0.4  # share of the fit's time budget the VAE may spend


class TabularModel:
    """The fitted stages of a TabSynthesizer: codec -> VAE -> latent scaler -> latent denoiser."""

    def __init__(self, *, codec: TableCodec, vae: TabularVAE, scaler: LatentScaler, denoiser: LatentDenoiser,
                 sampling_steps: int, sampler: str = "heun", sigma_max: float = 80.0, precision: str = "auto",
                 row_block: int = ROW_BLOCK, ode_precision: str = "float64"):
        self.codec, self.vae, self.scaler, self.denoiser = codec, vae.eval(), scaler, denoiser.eval()
        self.sampling_steps = sampling_steps  # noise levels of the sampler
        self.sampler = sampler                # "heun" (2 * steps - 1 denoiser calls) or "dpm2m" (steps calls)
        self.sigma_max = sigma_max            # the noise level sampling starts from
        self.precision = precision            # of the denoiser's calls: "auto", "float32" or "bfloat16"
        self.row_block = row_block            # rows per network call (RowBlocks)
        self.ode_precision = ode_precision    # of the sampler's update: "float64" (files without it) or "float32"

    @classmethod
    def fit(cls, df: pd.DataFrame, specs: list[ColumnSpec], train_idx: np.ndarray, val_idx: np.ndarray,
            settings: Settings, *, device: torch.device, budget: TimeBudget, verbose: bool,
            clock: StageClock | None = None, on_estimate: Callable[[FitEstimate], None] | None = None,
            ) -> tuple["TabularModel", dict[str, History]]:
        """Fit the stages on ``df`` one after another; returns the model and the training histories.

        Rows ``train_idx`` train each stage, ``val_idx`` judge it. The VAE may spend
        ``VAE_SHARE`` of what is left of ``budget``, the denoiser the rest. Under
        torchrun the codec is fitted on rank 0 and shared, and each rank trains on
        its shard of the rows with its own noise (:mod:`tabsyn.distributed`).
        ``clock`` records the seconds of each stage ("codec", "estimate", "vae", "latents",
        "denoiser"). Before training, ``on_estimate`` (if given) gets how long the training steps
        will take, measured on a few of them (:mod:`tabsyn.tabular.estimate`).
        """
        clock = clock or StageClock()
        with clock("codec"):
            codec = distributed.from_rank0(lambda: TableCodec().fit(df, specs))
            x_num, x_cat = codec.encode(df)
        if x_num.shape[1] + x_cat.shape[1] == 0:
            raise SchemaError(f"every column of the table is ID-like ({[c.name for c in codec.specs]}); tabsyn "
                              f"needs at least one numerical, categorical or datetime column to learn")
        if distributed.active():  # the same weights everywhere (DDP), but each rank its own batches' noise
            torch.manual_seed(torch.initial_seed() + distributed.rank())
        x_num, x_cat = torch.from_numpy(x_num).to(device), torch.from_numpy(x_cat).to(device)
        if on_estimate is not None:
            with clock("estimate"):
                estimate = estimate_fit(x_num, x_cat, codec.cat_sizes, train_idx, settings, rows=len(df),
                                        columns=df.shape[1])
            on_estimate(estimate)
        with clock("vae"):
            vae, vae_history = fit_vae(x_num, x_cat, codec.cat_sizes, train_idx, val_idx, settings,
                                       max_seconds=VAE_SHARE * budget.remaining(), verbose=verbose)
        with clock("latents"):
            latents = vae.latents(x_num, x_cat).float()
            scaler = LatentScaler().fit(latents[train_idx])
            z = scaler.encode(latents)
            del latents  # rows x latent width (4x the encoded table's numbers): one copy at a time is enough
        with clock("denoiser"):
            denoiser, diffusion_history = fit_denoiser(z, x_num, x_cat, codec.cat_sizes, train_idx, val_idx, settings,
                                                       max_seconds=max(budget.remaining(), 1.0), verbose=verbose)
        model = cls(codec=codec, vae=vae, scaler=scaler, denoiser=denoiser, sampling_steps=settings.sampling_steps,
                    sampler=settings.sampler, sigma_max=settings.sigma_max, ode_precision=settings.ode_precision)
        return model, {"vae": vae_history, "diffusion": diffusion_history}

    @property
    def dim(self) -> int:
        """Latent dimensions: the width of the noise one row starts from."""
        return self.denoiser.cfg.dim

    @property
    def device(self) -> torch.device:
        return next(self.denoiser.parameters()).device

    def to(self, device: torch.device) -> "TabularModel":
        self.vae.to(device)
        self.denoiser.to(device)
        return self

    # -- noise -> rows -----------------------------------------------------------
    def sample(self, noise: np.ndarray, positions: np.ndarray, known: KnownCells | None = None, *,
               guidance_scale: float = 1.0) -> pd.DataFrame:
        """Rows for standard normal ``noise`` (rows, dim) at stream ``positions``, conditioned on ``known``."""
        blocks = RowBlocks(positions, self.row_block)
        z = self._latents(noise, blocks, known, guidance_scale)
        x_num, x_cat = self._decode(z, blocks, None if known is None else known.forbid_missing)
        return self.codec.decode(x_num, x_cat, positions=positions, known=known)

    def impute(self, frame: pd.DataFrame, cells: np.ndarray, *, seed: int, base: int, draws: int, batch_size: int,
               guidance_scale: float = 1.0) -> pd.DataFrame:
        """The rows of ``frame`` that have unknown ``cells``, completed; indexed by their row numbers.

        Row r's ``draws`` completions come from stream positions ``base + r * draws``
        onwards; numbers get the mean of their draws, categories the most frequent
        draw; known cells stay as given.
        """
        holes, step, parts = np.flatnonzero(~cells.all(1)), max(1, batch_size // draws), []
        for rows in (holes[i:i + step] for i in range(0, len(holes), step)):
            positions = base + (rows[:, None] * draws + np.arange(draws)).ravel()
            known = self.known_cells(frame.iloc[rows], cells[rows], present=True)
            repeat = np.repeat(np.arange(len(rows)), draws)
            blocks = RowBlocks(positions, self.row_block)
            z = self._latents(position_noise(seed, positions, self.dim), blocks, known.take(repeat), guidance_scale)
            x_num, x_cat = self._decode(z, blocks, known.forbid_missing[repeat])
            x_num = self.codec.average_draws(x_num.reshape(len(rows), draws, -1).transpose(1, 0, 2))
            x_cat = most_frequent(x_cat.reshape(len(rows), draws, x_cat.shape[1]))
            parts.append(self.codec.decode(x_num, x_cat, positions=positions[::draws], known=known).set_axis(rows))
        return pd.concat(parts) if parts else frame.iloc[:0]

    def _latents(self, noise: np.ndarray, blocks: RowBlocks, known: KnownCells | None,
                 guidance_scale: float) -> torch.Tensor:
        x = torch.from_numpy(noise).float().to(self.device)
        cond = None if known is None else torch.from_numpy(known.cond).to(self.device)
        return self.denoiser.sample(x, steps=self.sampling_steps, sampler=self.sampler, sigma_max=self.sigma_max,
                                    rows=blocks, cond=cond,
                                    guidance_scale=guidance_scale, precision=self.precision,
                                    ode_precision=self.ode_precision)

    @torch.no_grad()
    def _decode(self, z: torch.Tensor, blocks: RowBlocks,
                forbid_missing: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Scaled latents -> model arrays; ``forbid_missing`` cells never take their "missing" code.

        Each block's logits become codes inside the block: the logits of a whole batch (rows x
        every level of every column: 50,000 x 1,200 floats for flights) are never held at once.
        """
        tokens = self.scaler.decode(z).reshape(len(z), -1, self.vae.cfg.d_token)
        n_num = self.vae.cfg.n_num
        missing_codes = list(enumerate(self.codec.missing_codes()))
        forbid = torch.from_numpy(forbid_missing if forbid_missing is not None
                                  else np.zeros((len(z), len(missing_codes)), bool)).to(z.device)

        def decode_rows(t: torch.Tensor, no_missing: torch.Tensor) -> torch.Tensor:  # a row's numbers, then codes
            values, logits = self.vae.decode(t)
            for j, code in missing_codes:
                if code is not None:
                    logits[j][:, code] = logits[j][:, code].masked_fill(no_missing[:, j], -torch.inf)
            codes = [lg.argmax(-1).to(values.dtype) for lg in logits]  # exact: codes are far below 2**24
            return torch.cat([values, torch.stack(codes, 1)], dim=1) if codes else values

        out = blocks(decode_rows, tokens, forbid)
        x_cat = out[:, n_num:].round().long()
        return out[:, :n_num].cpu().numpy().astype(np.float64), x_cat.cpu().numpy()

    # -- known cells -------------------------------------------------------------
    def fixed_cells(self, row: pd.DataFrame):
        """One row of known values -> ``known_for(start, rows)``: the same known cells for every row drawn."""
        known = self.known_cells(row, np.ones(row.shape, bool), present=False)
        return lambda start, rows: known.take(np.zeros(rows, dtype=np.int64))

    def holes(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Rows to impute -> their modelled columns (ID columns stay as given) and which cells are known.

        Every known value is checked here (raising for any the model cannot take).
        """
        keep = [k for k, s in enumerate(self.codec.specs) if s.kind != ID]
        frame = frame.iloc[:, keep]
        cells = frame.notna().to_numpy()
        self.known_cells(frame, cells, present=True, encode=False)
        return frame, cells

    def known_cells(self, frame: pd.DataFrame, cells: np.ndarray, *, present: bool,
                    encode: bool = True) -> KnownCells | None:
        """Known cells of partial rows -> the denoiser's condition and the exact values to restore.

        ID columns in ``frame`` are not conditioned on; their values are kept as
        given. With ``encode=False``, only check the values (raising for any the
        model cannot take).
        """
        kinds = {s.name: s for s in self.codec.specs}
        is_id = np.array([kinds[c].kind == ID for c in frame.columns], dtype=bool)
        encoded = self.codec.encode_known(frame.loc[:, ~is_id], cells[:, ~is_id], present=present)
        if not encode:
            return None
        arrays = (torch.from_numpy(a) for a in (encoded.x_num, encoded.x_cat, encoded.num_known, encoded.cat_known))
        cond = self.denoiser.layout.vector(*arrays)
        values, value_cells = encoded.values, cells[:, ~is_id]
        if is_id.any():
            ids = frame.loc[:, is_id].reset_index(drop=True)
            for label in ids.columns:
                try:
                    ids[label] = ids[label].astype(kinds[label].dtype)
                except (TypeError, ValueError):
                    raise KnownValueError(f"column {label!r} holds IDs of dtype {kinds[label].dtype}; got "
                                          f"{ids[label].iloc[0]!r}, which is not one") from None
            values = pd.concat([values, ids], axis=1)
            value_cells = np.concatenate([value_cells, cells[:, is_id]], axis=1)
        return KnownCells(cond.numpy(), encoded.forbid_missing, values, value_cells)

    # -- plain state ---------------------------------------------------------------
    def to_state(self) -> dict:
        return {
            "codec": self.codec.to_state(),
            "vae": {"config": asdict(self.vae.cfg),
                    "weights": {k: v.detach().cpu() for k, v in self.vae.state_dict().items()}},
            "scaler": self.scaler.to_state(),
            "denoiser": self.denoiser.to_state(),
            "sampling_steps": self.sampling_steps,
            "sampler": self.sampler,
            "sigma_max": self.sigma_max,
            "precision": self.precision,
            "row_block": self.row_block,
            "ode_precision": self.ode_precision,
        }

    @classmethod
    def from_state(cls, state: dict) -> "TabularModel":
        """Rebuild from :meth:`to_state` (on the CPU; move it with :meth:`to`)."""
        vae = TabularVAE(VAEConfig(**state["vae"]["config"]))
        try:
            vae.load_state_dict(state["vae"]["weights"])
            denoiser = LatentDenoiser.from_state(state["denoiser"])
        except RuntimeError as exc:  # the shapes or names of the stored weights differ
            raise ModelFileError(f"the stored weights do not fit this tabsyn's networks "
                                 f"({str(exc).splitlines()[0]} ...); fit the model again") from None
        ode_precision = state.get("ode_precision", "float64")  # files saved before it: float64
        if ode_precision not in ODE_PRECISIONS:
            raise ModelFileError(f"the model file's ode_precision is {ode_precision!r}; this tabsyn reads "
                                 f"{sorted(ODE_PRECISIONS)}")
        return cls(codec=TableCodec.from_state(state["codec"]), vae=vae,
                   scaler=LatentScaler.from_state(state["scaler"]), denoiser=denoiser,
                   sampling_steps=int(state["sampling_steps"]), sampler=state.get("sampler", "heun"),
                   sigma_max=float(state.get("sigma_max", 80.0)),
                   precision=state["precision"],
                   row_block=int(state["row_block"]),
                   ode_precision=ode_precision)
