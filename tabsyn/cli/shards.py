"""One sample written by several processes or machines: ``--shard K/N`` or torchrun's
``RANK`` / ``WORLD_SIZE``, the rows of each shard, and where each shard is written."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tabsyn.cli.errors import CLIError
from tabsyn.cli.outputs import _is_folder

SHARD_HELP = """shards (one sample written by several processes or machines):
  --shard K/N writes shard K of N, 0-based (0/4, 1/4, 2/4, 3/4): rows
  floor(K*n/N) .. floor((K+1)*n/N)-1 of the n-row sample the seed gives. Every shard
  needs the same --seed (and the same -n, model and options); the shards in order
  are then, to the bit, the table one process writes with that seed. Under torchrun
  (RANK and WORLD_SIZE set) without --shard, each rank writes shard RANK/WORLD_SIZE.
  -o OUT/ (ending in /) writes shard K to OUT/part-0000K.csv (.parquet with
  --format parquet); -o NAME.csv writes NAME.part-0000K-of-0000N.csv; with N = 1,
  NAME.csv itself. --known is not sharded.
"""


def parse_shard(text: str | None, environ=os.environ) -> tuple[int, int, str]:
    """``--shard K/N`` (0-based), else torchrun's ``RANK`` / ``WORLD_SIZE``, else the whole sample:
    ``(K, N, where it came from)``."""
    if text is not None:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        k, n = (int(match[1]), int(match[2])) if match else (None, None)
        if match is None or n < 1 or k >= n:
            raise CLIError(f"--shard takes K/N, shard K of N counted from 0 (0 <= K < N, e.g. 0/4 .. 3/4); "
                           f"got {text!r}")
        return k, n, f"--shard {k}/{n}"
    if "RANK" in environ and "WORLD_SIZE" in environ:
        rank, size = environ["RANK"], environ["WORLD_SIZE"]
        if not (rank.isdigit() and size.isdigit() and int(rank) < int(size)):
            raise CLIError(f"RANK={rank!r} and WORLD_SIZE={size!r} (set by torchrun) must be integers with "
                           f"0 <= RANK < WORLD_SIZE; or give --shard K/N")
        return int(rank), int(size), f"torchrun's RANK={rank} of WORLD_SIZE={size}"
    return 0, 1, "one process"


def shard_rows(n: int, k: int, shards: int) -> tuple[int, int]:
    """Rows ``[start, end)`` of shard ``k`` of ``shards`` of an ``n``-row sample."""
    return k * n // shards, (k + 1) * n // shards


def shard_path(output: str, fmt: str, k: int, shards: int) -> str:
    """Where shard ``k`` of ``shards`` goes: ``OUT/part-0000K.EXT`` for a folder, ``NAME.part-0000K-of-0000N.EXT``
    for a file name (the name itself when there is one shard)."""
    width = max(5, len(str(shards - 1)))
    if _is_folder(output):
        return os.path.join(output, f"part-{k:0{width}d}.{fmt}")
    if shards == 1:
        return output
    path = Path(output)
    return os.fspath(path.with_name(f"{path.stem}.part-{k:0{width}d}-of-{shards:0{width}d}{path.suffix}"))
