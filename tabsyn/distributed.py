"""Data-parallel fitting with ``torch.distributed``, one process per rank, as ``torchrun`` launches them.

``torchrun --nproc-per-node N -m tabsyn fit data.csv -o model.tabsyn`` (or any script
that calls ``TabSynthesizer.fit`` under torchrun) trains with
``DistributedDataParallel``:

- :func:`process_group` joins the group torchrun describes in the environment
  (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``...): gloo on CPU, NCCL on
  CUDA (each rank on ``cuda:LOCAL_RANK``). Without torchrun nothing happens and
  every function here is the one-process identity.
- :func:`from_rank0` fits a stage once, on rank 0, and hands the same fitted object to
  every rank (the table codec), so every rank encodes alike.
- Each rank trains on its own shard of the training rows (:func:`shard`) with its own
  batches of ``batch_size / world`` rows, so an optimiser step sees as many rows as
  one process would; DDP averages the gradients, so the weights stay identical.
- Validation metrics are averaged over the ranks (:func:`mean_over_ranks`) before
  early stopping, beta decay or best weights use them, so every rank decides alike.
- Only rank 0 writes files (:func:`is_writer`).
"""

from __future__ import annotations

import contextlib
import os
from typing import Callable, Iterator, TypeVar

import numpy as np
import torch
import torch.distributed as dist

T = TypeVar("T")


def active() -> bool:
    """Whether this process is one of several in an initialised process group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_writer() -> bool:
    """Rank 0, or the only process: the one that writes model files and prints."""
    return rank() == 0


def launched() -> bool:
    """Whether torchrun (or anything setting its variables) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@contextlib.contextmanager
def process_group(device: str = "auto") -> Iterator[None]:
    """Join torchrun's process group for the block (gloo on CPU, NCCL on CUDA); a no-op without torchrun."""
    if not launched() or active():
        yield
        return
    cuda = device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()


def device_of_rank(device: torch.device) -> torch.device:
    """Under torchrun a CUDA device means this rank's GPU (``cuda:LOCAL_RANK``)."""
    if active() and device.type == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def from_rank0(fit: Callable[[], T]) -> T:
    """``fit()`` on rank 0 only, its result sent to every rank (pickled through ``broadcast_object_list``)."""
    if not active():
        return fit()
    box = [fit() if rank() == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(rows: np.ndarray) -> np.ndarray:
    """This rank's share of ``rows``: every world-th row, all shards of one length (at most world - 1 rows left out)."""
    if not active():
        return rows
    per_rank = len(rows) // world_size()
    return rows[rank()::world_size()][:per_rank]


def per_rank_batch(batch_size: int) -> int:
    """The rows each rank takes per step so that a step sees ``batch_size`` rows in all."""
    return max(1, batch_size // world_size())


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """``DistributedDataParallel(model)`` under torchrun (weights broadcast from rank 0), else ``model``."""
    if not active():
        return model
    device = next(model.parameters()).device
    # find_unused_parameters: a table without categories leaves the VAE's embedding out of the loss.
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None,
                                                     find_unused_parameters=True)


def _reduced(values: list[float], op) -> list[float]:
    # NCCL reduces CUDA tensors only; gloo CPU ones.
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=op)
    return t.cpu().tolist()


def mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """The mean over the ranks of every number in ``values``, the same dict on every rank."""
    if not active() or not values:
        return values
    keys = sorted(values)
    totals = _reduced([float(values[k]) for k in keys], dist.ReduceOp.SUM)
    return {k: total / world_size() for k, total in zip(keys, totals)}


def any_rank(flag: bool) -> bool:
    """True on every rank when ``flag`` is true on any (e.g. a time budget spent on one of them)."""
    if not active():
        return flag
    return _reduced([1.0 if flag else 0.0], dist.ReduceOp.MAX)[0] > 0
