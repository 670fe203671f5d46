"""From noise to rows: the latent ODE, known cells, decoding and the privacy guard.

:class:`TableSampler` holds what ``TabSynthesizer.fit`` learned (the table
transformer, the VAE decoder, the denoiser, the latent scaling and the privacy
guard) and turns standard normal noise into DataFrame rows:

    noise -> Heun ODE in the latent space (the denoiser conditioned on the
    known cells, if any) -> VAE decoder -> inverse transform -> rows

Every draw is a function of a row's own noise and stream position, so no row
depends on which other rows were generated with it. That holds to the last bit:
a matrix product's rounding depends on how many rows it multiplies and where a
row sits among them, so every network here runs on blocks of exactly
``ROW_BLOCK`` rows with each row at the slot its stream position gives it
(:class:`RowBlocks`). The estimator keeps the public API, argument checks and
random streams; this module does the work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from tabsyn.diffusion.sampler import heun_sample
from tabsyn.tabular.conditioning import ConditionLayout
from tabsyn.table.guard import GuardReport, PrivacyGuard, PrivacyGuardError
from tabsyn.tabular.known import KnownCells, KnownValueError, encode_known
from tabsyn.table.schema import ID, ColumnSpec
from tabsyn.tabular.transformer import TableTransformer
from tabsyn.tabular.vae import TabularVAE

SIGMA_DATA = 0.5  # latents are scaled to this standard deviation per dimension (EDM's sigma_data)
MAX_REDRAWS = 20  # privacy guard: redraws of a row before giving up
ROW_BLOCK = 512   # rows per network call (as fast as larger blocks on a CPU; see RowBlocks)


class RowBlocks:
    """Evaluate a row-wise network on blocks of exactly ``size`` rows, row i at slot ``positions[i] % size``.

    A row's result then depends only on its own inputs and position, never on
    the other rows of the call: they change neither the shapes nor where the
    row sits. Rows sharing a slot go to different calls; padding fills the rest.
    """

    def __init__(self, positions: np.ndarray, size: int = ROW_BLOCK):
        slots = np.asarray(positions, dtype=np.int64) % size
        order = np.argsort(slots, kind="stable")
        first = np.r_[0, np.flatnonzero(np.diff(slots[order])) + 1]
        rank = np.empty(len(slots), dtype=np.int64)
        rank[order] = np.arange(len(slots)) - np.repeat(first, np.diff(np.r_[first, len(slots)]))
        self.size = size
        self.calls = [(np.flatnonzero(rank == c), slots[rank == c]) for c in range(int(rank.max()) + 1 if len(slots) else 0)]
        self.inverse = torch.from_numpy(np.argsort(np.concatenate([rows for rows, _ in self.calls])
                                                   if self.calls else np.zeros(0, np.int64)))

    def __call__(self, fn, *inputs: torch.Tensor, fill: tuple = ()) -> torch.Tensor:
        """``fn(*inputs)`` row by row; ``fill`` gives each input's padding value (default 0)."""
        parts = []
        for rows, slots in self.calls:
            rows_t, slots_t = torch.from_numpy(rows), torch.from_numpy(slots)
            padded = []
            for k, x in enumerate(inputs):
                block = torch.full((self.size, *x.shape[1:]), fill[k] if k < len(fill) else 0,
                                   dtype=x.dtype, device=x.device)
                padded.append(block.index_copy(0, slots_t.to(x.device), x[rows_t.to(x.device)]))
            parts.append(fn(*padded)[slots_t.to(padded[0].device)])
        out = torch.cat(parts)
        return out[self.inverse.to(out.device)]


class TableSampler:
    """Noise -> rows with the fitted pieces of a TabSynthesizer; see the module docstring."""

    def __init__(self, *, columns: list[ColumnSpec], transformer: TableTransformer, vae: TabularVAE,
                 denoiser: torch.nn.Module, latent_mean: torch.Tensor, latent_std: torch.Tensor,
                 guard: PrivacyGuard, steps: int, device: torch.device, guidance_scale: float = 1.0):
        self.columns, self.transformer, self.vae, self.denoiser = columns, transformer, vae, denoiser
        self.latent_mean, self.latent_std = latent_mean.to(device), latent_std.to(device)
        self.guard, self.steps, self.device, self.guidance_scale = guard, steps, device, guidance_scale
        self.layout = ConditionLayout(vae.cfg.n_num, vae.cfg.cat_sizes)

    @property
    def dim(self) -> int:
        return self.latent_mean.numel()

    # -- rows ------------------------------------------------------------------
    def draw(self, noise: np.ndarray, positions: np.ndarray, known: KnownCells | None = None,
             quantile: float | None = None) -> pd.DataFrame:
        """Rows for ``noise``; with a guard ``quantile``, rows too close to a real one are redrawn.

        A redrawn row's new noise is derived from its previous noise, so it too
        depends on nothing but the row. What the guard did is in ``attrs["privacy_guard"]``.
        """
        frame = self.generate(noise, positions, known)
        if quantile is None:
            return frame
        exact, close = self.guard.check(frame, quantile)
        report = GuardReport(rows=len(frame), exact_copies=int(exact.sum()), too_close=int(close.sum()),
                             threshold=self.guard.threshold(quantile), quantile=quantile)
        bad = np.flatnonzero(exact | close)
        report.replaced = len(bad)
        noise = noise.copy()
        for attempt in range(1, MAX_REDRAWS + 1):
            if not len(bad):
                break
            noise[bad] = _redraw_noise(noise[bad], attempt)
            new = self.generate(noise[bad], positions[bad], None if known is None else known.take(bad))
            report.redraws += len(bad)
            new.index = frame.index[bad]
            frame = pd.concat([frame.drop(index=frame.index[bad]), new]).sort_index()
            exact, close = self.guard.check(new, quantile)
            bad = bad[exact | close]
        if len(bad):
            raise PrivacyGuardError(
                f"privacy_guard: after {MAX_REDRAWS} redraws, {len(bad)} of {len(frame)} rows were still copies "
                f"of real rows or closer to one than {report.threshold:.4g}; the table may hold few distinct "
                f"rows ({len(self.guard.keys_)} distinct in training). Pass a lower quantile "
                f"(privacy_guard=0 replaces exact copies only) or privacy_guard=False"
            )
        frame.attrs["privacy_guard"] = report.to_dict()
        return frame

    def generate(self, noise: np.ndarray, positions: np.ndarray, known: KnownCells | None = None) -> pd.DataFrame:
        """Noise -> Heun ODE (conditioned on any known cells) -> decode -> inverse transform."""
        blocks = RowBlocks(positions)
        z = self.latent_sample(noise, blocks, known)
        x_num, x_cat = self.decode(z, blocks, None if known is None else known.forbid_missing)
        frame = self.transformer.inverse_transform(x_num, x_cat, positions=positions)
        return frame if known is None else known.restore(frame)

    def impute(self, frame: pd.DataFrame, cells: np.ndarray, rows: np.ndarray, noise: np.ndarray, draws: int,
               first: int) -> pd.DataFrame:
        """Complete partial rows ``draws`` times each and combine the draws into one row each.

        ``rows`` are the rows' numbers in the caller's table and ``noise`` holds
        ``draws`` consecutive stream rows per row, from stream position ``first +
        row * draws``. Numbers get the mean of their draws, categories the most
        frequent draw; known cells stay as given.
        """
        known = self.known_cells(frame, cells, present=True)
        repeat = np.repeat(np.arange(len(frame)), draws)
        positions = first + np.repeat(rows * draws, draws) + np.tile(np.arange(draws), len(rows))
        blocks = RowBlocks(positions)
        z = self.latent_sample(noise, blocks, known.take(repeat))
        x_num, x_cat = self.decode(z, blocks, known.forbid_missing[repeat])
        x_num = self.transformer.average_draws(x_num.reshape(len(frame), draws, x_num.shape[1]).transpose(1, 0, 2))
        x_cat = _most_frequent(x_cat.reshape(len(frame), draws, x_cat.shape[1]))
        return known.restore(self.transformer.inverse_transform(x_num, x_cat, positions=first + rows * draws))

    # -- known cells -----------------------------------------------------------
    def known_cells(self, frame: pd.DataFrame, cells: np.ndarray, *, present: bool,
                    encode: bool = True) -> KnownCells | None:
        """Known cells of partial rows -> the denoiser's condition and the exact values to restore.

        ID columns in ``frame`` are not conditioned on; their values are kept as
        given. With ``encode=False``, only check the values (raising for any the
        model cannot take).
        """
        kinds = {s.name: s for s in self.columns}
        is_id = np.array([kinds[c].kind == ID for c in frame.columns], dtype=bool)
        encoded = encode_known(self.transformer, frame.loc[:, ~is_id], cells[:, ~is_id], present=present)
        if not encode:
            return None
        cond = self.layout.vector(*(torch.from_numpy(a) for a in (encoded.x_num, encoded.x_cat,
                                                                   encoded.num_known, encoded.cat_known)))
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

    # -- latent space ----------------------------------------------------------
    def latent_sample(self, noise: np.ndarray, blocks: RowBlocks, known: KnownCells | None = None) -> torch.Tensor:
        """Integrate the probability-flow ODE from ``noise``, the denoiser conditioned on any known cells.

        With known cells and ``guidance_scale`` w != 1, classifier-free guidance:
        D = D_free + w (D_known - D_free), which sharpens the conditional (w = 1.5
        matched the known cells' real rows better than filtering unconditional
        rows did, on Adult; benchmarks/conditional.py).
        """
        x = torch.from_numpy(noise).float().to(self.device)
        w = self.guidance_scale

        def free(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            return blocks(self.denoiser, x, sigma, fill=(0.0, 1.0))

        if known is None:
            return heun_sample(free, x, num_steps=self.steps).float()
        cond = torch.from_numpy(known.cond).to(self.device)

        def conditioned(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            d = blocks(self.denoiser, x, sigma, cond, fill=(0.0, 1.0, 0.0))
            if w == 1:
                return d
            u = free(x, sigma)
            return u + w * (d - u)

        return heun_sample(conditioned, x, num_steps=self.steps).float()

    @torch.no_grad()
    def decode(self, z: torch.Tensor, blocks: RowBlocks,
               forbid_missing: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Normalised latents -> model arrays; ``forbid_missing`` cells never take their "missing" code."""
        latents = z / SIGMA_DATA * self.latent_std + self.latent_mean
        tokens = latents.reshape(len(z), -1, self.vae.cfg.d_token)
        n_num, sizes = self.vae.cfg.n_num, list(self.vae.cfg.cat_sizes)

        def decode_rows(t: torch.Tensor) -> torch.Tensor:  # one tensor per row: numbers, then every logit
            values, logits = self.vae.decode(t)
            return torch.cat([values, *logits], dim=1)

        out = blocks(decode_rows, tokens)
        x_num = out[:, :n_num]
        logits = list(torch.split(out[:, n_num:], sizes, dim=1)) if sizes else []
        if forbid_missing is not None and forbid_missing.any():
            forbid = torch.from_numpy(forbid_missing).to(z.device)
            for j, code in enumerate(self.transformer.missing_codes()):
                if code is not None and bool(forbid[:, j].any()):
                    logits[j][forbid[:, j], code] = -torch.inf
        x_cat = torch.stack([lg.argmax(-1) for lg in logits], dim=1) if logits else torch.zeros(len(z), 0, dtype=torch.long)
        return x_num.cpu().numpy().astype(np.float64), x_cat.cpu().numpy()


def combine_reports(frames: list[pd.DataFrame]) -> dict | None:
    """The privacy guard reports of several batches, summed (None when there are none)."""
    total = GuardReport.total(f.attrs.get("privacy_guard") for f in frames)
    return None if total is None else total.to_dict()


class NoiseCursor:
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


def fill_cells(column: pd.Series, missing: np.ndarray, values: np.ndarray) -> pd.Series:
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
