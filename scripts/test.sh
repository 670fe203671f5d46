#!/usr/bin/env bash
# Set up .venv with the test extras and run the test suite (what CI runs).
# pytest exits 5 when it collects no test: that fails here, as any other failure does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "[test]"
. .venv/bin/activate
python -m pytest -q -p no:cacheprovider "$@"
