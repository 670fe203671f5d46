"""How many CPU threads torch may use for a fit or a sample: the ``n_jobs`` of both estimators.

torch's default, one thread per core, is the worst choice on a machine whose
cores are busy: its OpenMP threads wait on each other whenever one of them is
preempted, and a small fit measured 5-22x slower with two threads than with one
beside another job. So ``n_jobs=None`` (the default) takes, at the moment the
work starts,

- the cores this process may run on (``os.sched_getaffinity``),
- minus the cores other processes keep busy, measured over 0.1 s from
  ``/proc/stat`` less this process's own share (``/proc/self/stat``); where
  ``/proc`` is missing, nothing is subtracted,
- divided among the ranks torchrun started on this machine (``LOCAL_WORLD_SIZE``),

and at least 1. ``n_jobs=k`` uses k threads, ``n_jobs=-1`` every core this
process may use. Running several fits at once: give each ``n_jobs=1`` (or
``OMP_NUM_THREADS=1``), or let the default see the others.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import time
from typing import Any, Iterator

import torch


def usable_cores() -> int:
    """Cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _ticks() -> tuple[int, int] | None:
    """(busy ticks of the whole machine, ticks of this process) from /proc, or None without it."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        with open("/proc/self/stat") as f:
            own = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, int(own[11]) + int(own[12])  # utime + stime


_MEASURED: list[float] = []  # [time, busy cores] of the last measurement, reused for REUSE_SECONDS
REUSE_SECONDS = 5.0


def busy_cores(window: float = 0.1) -> float:
    """Cores kept busy by other processes over ``window`` seconds (0 where /proc is missing).

    A measurement is reused for ``REUSE_SECONDS``, so many short calls do not each wait ``window``.
    """
    if _MEASURED and time.monotonic() - _MEASURED[0] < REUSE_SECONDS:
        return _MEASURED[1]
    _MEASURED[:] = [time.monotonic(), _busy_cores(window)]
    return _MEASURED[1]


def _busy_cores(window: float) -> float:
    first = _ticks()
    if first is None:
        return 0.0
    start = time.perf_counter()
    time.sleep(window)
    second = _ticks()
    if second is None:
        return 0.0
    elapsed = time.perf_counter() - start
    ticks = (second[0] - first[0]) - (second[1] - first[1])
    return max(0.0, ticks / os.sysconf("SC_CLK_TCK") / elapsed)


def check_n_jobs(n_jobs: Any) -> int | None:
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or (n_jobs < 1 and n_jobs != -1):
        raise ValueError(f"n_jobs must be None (the idle cores), -1 (every core) or a positive number of "
                         f"threads; got {n_jobs!r}")
    return int(n_jobs)


def resolve_n_jobs(n_jobs: Any) -> int:
    """The thread count ``n_jobs`` stands for now (see the module docstring)."""
    n_jobs, cores = check_n_jobs(n_jobs), usable_cores()
    if n_jobs == -1:
        return cores
    if n_jobs is not None:
        return n_jobs
    ranks = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(1, int(round(cores - busy_cores())) // ranks)


@contextlib.contextmanager
def torch_threads(n_jobs: Any) -> Iterator[int]:
    """Run the block with ``resolve_n_jobs(n_jobs)`` torch threads; the caller's count is restored after."""
    before = torch.get_num_threads()
    threads = resolve_n_jobs(n_jobs)
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)
