#!/usr/bin/env bash
# Create .venv (if missing) and install tabsyn into it, with the CPU build of torch.
#
# torch comes first and pinned, so pip never resolves tabsyn's "torch>=2.1" to a
# multi-GB CUDA build on a CPU-only machine. Set TABSYN_TORCH to choose another
# (e.g. TABSYN_TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"),
# or TABSYN_TORCH=skip to keep the torch already in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
torch_spec="${TABSYN_TORCH:-torch==2.13.0}"
if [ "$torch_spec" != "skip" ] && ! python -c "import torch" 2>/dev/null; then
    # shellcheck disable=SC2086
    python -m pip install --quiet $torch_spec
fi
python -m pip install --quiet -e ".${extras}"
python -c "import tabsyn, torch; print(f'tabsyn {tabsyn.__version__} with torch {torch.__version__} in .venv')"
