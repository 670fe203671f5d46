#!/usr/bin/env bash
# Install the peers of benchmarks/peers.py (SDV for TVAE, MOSTLY AI's mostlyai-engine for
# TabularARGN) into the active environment, keeping the CPU torch already installed there.
#
#     . .venv/bin/activate && bash benchmarks/install_peers.sh
#
# Idempotent: run it again and it changes nothing (it only ever removes torchvision and
# torchaudio). Set PYTHON to use another interpreter than `python`.
#
# Why mostlyai-engine is not in the `bench` extra of pyproject.toml: its wheel requires
# torch>=2.13,<2.14 (kept, when that is the torch installed) but also torchvision and
# torchaudio, which it never uses for TabularARGN. From PyPI those two come as CUDA
# builds; beside a CPU torch they make `import transformers` fail, and mostlyai.engine
# imports transformers, so `from mostlyai.engine import TabularARGN` raises
# "Could not import module 'PreTrainedModel'" (tried here: `pip install mostlyai-engine==2.7.3`
# beside torch 2.13.0+cpu keeps that torch but adds torchvision 0.28.0 and torchaudio
# 2.11.1 from PyPI, and the import fails until both are uninstalled). So a plain
# `pip install -e ".[bench]"` with it in the extra cannot give a working engine. Here it is installed without its dependencies, then those dependencies
# are installed from its own metadata, less torchvision and torchaudio, with torch pinned
# to the installed version. `pip check` will then name the two as missing: expected.
set -euo pipefail

PYTHON=${PYTHON:-python}
MOSTLYAI_ENGINE_VERSION=${MOSTLYAI_ENGINE_VERSION:-2.7.3}
pip() { "$PYTHON" -m pip "$@"; }

# torch must be there first (README, "Install": the CPU build); pin whatever is installed.
TORCH=$("$PYTHON" -c "import torch; print(torch.__version__.split('+')[0])") || {
    echo "install_peers.sh: install torch (the CPU build) first; see the README" >&2; exit 1; }
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
echo "torch==$TORCH" > "$constraints"
echo "keeping torch $TORCH ($("$PYTHON" -c 'import torch; print(torch.__version__)'))"

# SDV (TVAE): the bench extra's pin. Its torch requirement is met by the installed one.
pip install -c "$constraints" "sdv>=1.10"

# mostlyai-engine without its dependencies, then its dependencies less the two it never uses.
pip install --no-deps "mostlyai-engine==$MOSTLYAI_ENGINE_VERSION"
mapfile -t deps < <("$PYTHON" - <<'EOF'
from importlib.metadata import requires
from packaging.requirements import Requirement

for line in requires("mostlyai-engine") or []:
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue  # the gpu extra (vllm, bitsandbytes)
    if req.name.lower() in {"torchvision", "torchaudio"}:
        continue
    print(str(req).split(";")[0].strip())
EOF
)
pip install -c "$constraints" "${deps[@]}"

# In case an earlier plain `pip install mostlyai-engine` brought them in.
pip uninstall -y torchvision torchaudio >/dev/null 2>&1 || true

"$PYTHON" - <<'EOF'
import torch
from importlib.metadata import version

from mostlyai.engine import TabularARGN  # noqa: F401  (fails with CUDA torchvision beside CPU torch)
import sdv.single_table  # noqa: F401

print(f"peers ready: mostlyai-engine {version('mostlyai-engine')}, sdv {version('sdv')}, "
      f"torch {torch.__version__} (CUDA build: {torch.version.cuda is not None})")
EOF
