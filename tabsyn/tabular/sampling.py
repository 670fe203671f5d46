"""Rows that depend on nothing but the seed and their position: noise, network blocks, guarded redraws.

Every sampled row is a function of the stream's seed and the row's position in
the stream, to the last bit, whatever the batch size or the other rows drawn
with it:

- :func:`tabsyn.base.position_noise` gives row ``p`` the same standard normal
  noise however rows are grouped (noise comes in fixed blocks of positions, each
  from its own generator keyed by ``(seed, block)``);
- :class:`RowBlocks` runs every network on blocks of exactly ``ROW_BLOCK`` rows
  with each row at the slot its position gives it, since a matrix product's
  rounding depends on how many rows it multiplies and where a row sits;
- :func:`draw_guarded` redraws rows the privacy guard rejects from noise derived
  from the row's own previous noise.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import torch

from tabsyn.base import position_noise
from tabsyn.table.guard import GuardReport, PrivacyGuard
from tabsyn.threads import torch_threads

MAX_REDRAWS = 20   # privacy guard: redraws of a row before giving up
# Rows per network call of a new model (a model keeps the block it was fitted with): 1,024 sampled
# Adult 1.13x as fast as 512 and 2,048 no faster (privacy-guard redraws pad a whole block each).
ROW_BLOCK = 1024


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
        n_calls = int(rank.max()) + 1 if len(slots) else 0
        self.calls = [(np.flatnonzero(rank == c), slots[rank == c]) for c in range(n_calls)]
        rows = np.concatenate([rows for rows, _ in self.calls]) if self.calls else np.zeros(0, np.int64)
        self.inverse = torch.from_numpy(np.argsort(rows))

    def __call__(self, fn: Callable[..., torch.Tensor], *inputs: torch.Tensor, fill: tuple = ()) -> torch.Tensor:
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


def draw_guarded(generate: Callable[[np.ndarray, np.ndarray, np.ndarray], pd.DataFrame], guard: PrivacyGuard,
                 noise: np.ndarray, positions: np.ndarray, quantile: float, *, strict: bool = False) -> pd.DataFrame:
    """``generate(noise, positions, rows)``, redrawing every row the guard rejects at ``quantile``.

    ``rows`` tells ``generate`` which of the batch's rows it is drawing (for their
    known cells). A redrawn row's new noise is derived from its previous noise,
    so it too depends on nothing but the row. What the guard did (and any
    fallback, where its rule cannot apply) is in ``attrs["privacy_guard"]``; with
    ``strict``, a fallback raises :class:`~tabsyn.table.guard.PrivacyGuardError`.
    """
    frame = generate(noise, positions, np.arange(len(noise)))
    exact, close = guard.check(frame, quantile)
    report = GuardReport(rows=len(frame), exact_copies=int(exact.sum()), too_close=int(close.sum()),
                         threshold=guard.threshold(quantile), quantile=quantile)
    bad = np.flatnonzero(exact | close)
    report.replaced = len(bad)
    noise = noise.copy()
    for attempt in range(1, MAX_REDRAWS + 1):
        if not len(bad):
            break
        noise[bad] = redraw_noise(noise[bad], attempt)
        new = generate(noise[bad], positions[bad], bad)
        report.redraws += len(bad)
        new.index = frame.index[bad]
        frame = pd.concat([frame.drop(index=frame.index[bad]), new]).sort_index()
        exact, close = guard.check(new, quantile)
        bad = bad[exact | close]
    report = guard.settle(report, frame, bad, strict=strict, redraws=MAX_REDRAWS)
    frame.attrs["privacy_guard"] = report.to_dict()
    return frame


def sample_rows(model, guard: PrivacyGuard, *, n: int, batch_size: int, seed: int, base: int,
                quantile: float | None, guidance_scale: float, known_for: Callable | None = None,
                strict: bool = False, n_jobs: int | None = None):
    """Yield ``n`` rows of ``model`` (a TabularModel) ``batch_size`` at a time, from stream positions ``base`` on.

    ``known_for(start, rows)`` gives the known cells of rows ``start ...`` of the
    call, if any; with a guard ``quantile``, rejected rows are redrawn. Each batch runs
    with ``n_jobs`` torch threads (:mod:`tabsyn.threads`).
    """
    for start in range(0, n, batch_size):
        rows = min(batch_size, n - start)
        positions = base + start + np.arange(rows, dtype=np.int64)
        known = None if known_for is None else known_for(start, rows)

        def draw(noise, positions, index, known=known):
            return model.sample(noise, positions, None if known is None else known.take(index),
                                guidance_scale=guidance_scale)

        noise = position_noise(seed, positions, model.dim)
        with torch_threads(n_jobs):
            frame = (draw(noise, positions, np.arange(rows)) if quantile is None
                     else draw_guarded(draw, guard, noise, positions, quantile, strict=strict))
        yield frame


def redraw_noise(noise: np.ndarray, attempt: int) -> np.ndarray:
    """Fresh noise for each row, a function of the row's previous noise and the attempt number."""
    out = np.empty_like(noise)
    for i, row in enumerate(noise):
        words = np.ascontiguousarray(row, dtype=np.float64).view(np.uint32).tolist()
        out[i] = np.random.default_rng([*words, attempt]).standard_normal(noise.shape[1])
    return out


def concat_batches(batches) -> pd.DataFrame:
    """One frame from sampled batches, with their privacy guard reports summed in ``attrs``."""
    frames = list(batches)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    total = GuardReport.total(f.attrs.get("privacy_guard") for f in frames)
    out.attrs = {} if total is None else {"privacy_guard": total.to_dict()}
    return out


def most_frequent(codes: np.ndarray) -> np.ndarray:
    """(rows, draws, columns) codes -> the most frequent code per row and column (ties: the smallest)."""
    rows, draws, columns = codes.shape
    out = np.zeros((rows, columns), np.int64)
    row_of = np.repeat(np.arange(rows), draws)
    for j in range(columns):
        counts = np.zeros((rows, int(codes[:, :, j].max()) + 1), np.int64)
        np.add.at(counts, (row_of, codes[:, :, j].ravel()), 1)
        out[:, j] = counts.argmax(1)
    return out


def fill_frame(df: pd.DataFrame, generated: pd.DataFrame, cells: np.ndarray) -> pd.DataFrame:
    """A copy of ``df`` whose cells not in ``cells`` (known cells, by column of ``generated``) come from
    ``generated``, a frame indexed by row number holding every row with such a cell."""
    out = df.copy()
    for k, label in enumerate(generated.columns):
        missing = ~cells[:, k]
        if missing.any():
            out[label] = fill_cells(out[label], missing, generated[label].loc[np.flatnonzero(missing)].to_numpy())
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
