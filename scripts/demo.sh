#!/usr/bin/env bash
# Set up .venv and run the main job: fit Adult, sample it, write a CSV and a report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
exec tabsyn demo "$@"
