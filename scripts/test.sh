#!/usr/bin/env bash
# Set up .venv with the test extras, lint, and run the test suite (what CI runs).
# flake8 (settings in setup.cfg) runs first and any finding fails the script;
# pytest exits 5 when it collects no test: that fails here, as any other failure does.
set -euo pipefail
cd "$(dirname "$0")/.."
# Fashion-MNIST's IDX files come from Debian's dataset-fashion-mnist; as root with apt, install it
# so the test that reads them runs (elsewhere that one test is skipped, saying why).
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
        || echo "note: could not install dataset-fashion-mnist; its test will be skipped"
fi
bash scripts/setup.sh "[test,dp]"
. .venv/bin/activate
python -m flake8 tabsyn tests benchmarks
python -m pytest -q -p no:cacheprovider -rs "$@"
