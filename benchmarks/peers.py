"""Peer benchmark: tabsyn, MOSTLY AI's TabularARGN and SDV's TVAE on the five tables, in one run.

Same protocol and machinery as ``benchmarks/suite.py`` (its ``split``, child processes,
measurements and ``evaluate`` call): each table shuffled with seed 0 and split 80/20,
each system fitted at its defaults on the training split in a child process, as many
rows sampled, scored by ``tabsyn.evaluate(train, synthetic, holdout=holdout,
target=target)``, which reports the detection AUC against the training rows and against
the holdout. Systems:

- ``tabsyn``: ``tabsyn.TabSynthesizer()``;
- ``tabularargn``: ``mostlyai.engine.TabularARGN()`` on the CPU (``bash
  benchmarks/install_peers.sh`` installs it beside the CPU torch);
- ``tvae``: SDV's ``TVAESynthesizer`` (``pip install -e ".[bench]"``);
- ``holdout``: half the real holdout scored against the other half (no fit; the ideal).

``--threads N`` gives every fit and sample the same torch thread count (and
``OMP_NUM_THREADS``/``MKL_NUM_THREADS``), recorded in each result. One JSON per result
goes to ``benchmarks/results/peers/<dataset>__<system>.json`` as soon as it is done;
existing ones are skipped (resume) unless ``--force``. After each, the "Peers" section
of ``benchmarks/RESULTS.md`` is rewritten (the rest of the file is kept); with another
``--results-dir`` the section goes to ``PEERS.md`` in that directory instead.

    python benchmarks/peers.py --threads 2
    python benchmarks/peers.py --threads 2 --datasets adult --systems tabsyn --force
    python benchmarks/peers.py --threads 2 --save-models   # + each tabsyn model, for detection_columns.py

Smoke test (dev; never into benchmarks/results):

    python benchmarks/peers.py --smoke --rows 500 --datasets shoppers --results-dir /tmp/peers-smoke
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import render_results  # noqa: E402
from suite import ALL_SYSTEMS, run_one  # noqa: E402

from tabsyn.datasets import DATASETS  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results" / "peers"
SYSTEMS = render_results.PEER_SYSTEMS
# --smoke: budgets that finish in seconds, to prove each system runs end to end.
SMOKE_SETTINGS = {
    "tabsyn": {"preset": "fast", "vae_steps": 20, "diffusion_steps": 40},
    "tabularargn": {"max_epochs": 1},
    "tvae": {"epochs": 1},
    "ctgan": {"epochs": 1},
    "gaussiancopula": {},
}


def write_section(results_dir: Path, output: Path) -> None:
    """Rewrite the Peers section of ``output`` from every result in ``results_dir``."""
    section = render_results.peers_section(render_results.load_results(results_dir))
    text = output.read_text() if output.exists() else ""
    output.write_text(render_results.with_peers_section(text, section).lstrip("\n"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=ALL_SYSTEMS)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for every system's fit and sample (default: torch's own)")
    parser.add_argument("--force", action="store_true", help="rerun results that already exist")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--output", type=Path, default=None,
                        help="markdown file whose Peers section is rewritten (default: benchmarks/RESULTS.md, "
                             "or PEERS.md in --results-dir when that is not the default)")
    parser.add_argument("--rows", type=int, default=None,
                        help="dev: keep only the first ROWS rows of each training split (smoke tests)")
    parser.add_argument("--smoke", action="store_true",
                        help="dev: tiny fit settings for every system, to prove it runs end to end")
    parser.add_argument("--save-models", action="store_true",
                        help="keep each tabsyn fit as benchmarks/.cache/peers_DATASET.tabsyn (after sampling, "
                             "untimed), for python benchmarks/detection_columns.py --model peers_DATASET")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    default_dir = args.results_dir.resolve() == RESULTS_DIR.resolve()
    if (args.smoke or args.rows is not None) and default_dir:
        parser.error("--smoke and --rows write smoke results: give them a --results-dir outside benchmarks/results")
    if args.save_models and (args.smoke or args.rows is not None):
        parser.error("--save-models keeps full fits for detection_columns.py: it does not go with --smoke or --rows, "
                     "whose tiny fits would replace them in benchmarks/.cache")
    output = args.output or (HERE / "RESULTS.md" if default_dir else args.results_dir / "PEERS.md")

    start = time.perf_counter()
    for dataset in args.datasets:
        for system in args.systems:
            path = args.results_dir / f"{dataset}__{system}.json"
            if path.exists() and not args.force:
                print(f"{dataset:9} {system:12} skipped: {path.name} exists (--force reruns)")
                continue
            options = {"threads": args.threads, "rows": args.rows,
                       "settings": SMOKE_SETTINGS.get(system, {}) if args.smoke else {},
                       "save_model": str(HERE / ".cache" / f"peers_{dataset}.tabsyn") if args.save_models else None}
            r = run_one(dataset, system, path, {k: v for k, v in options.items() if v})
            s = r["scores"]
            holdout_auc = s["detection"].get("roc_auc_holdout")
            print(f"{dataset:9} {system:12} quality {s['fidelity']['quality_score']:.3f}  "
                  f"detection {s['detection']['roc_auc']:.3f} / holdout "
                  f"{'-' if holdout_auc is None else f'{holdout_auc:.3f}'}  fit {r['fit_seconds']:.1f} s  "
                  f"evaluate {r['evaluate_seconds']:.1f} s  ({time.perf_counter() - start:.0f} s so far)",
                  flush=True)
            write_section(args.results_dir, output)
    write_section(args.results_dir, output)
    print(f"wrote the Peers section of {output}")


if __name__ == "__main__":
    main()
