"""Fit seconds of the default TabSynthesizer against table size: 2, 30, 200 and 2,000-row slices of Adult.

Each slice is the first N rows of a table's shuffled training split (the suite's protocol,
seed 0); each fit runs in this process, one after another, with the budgets
``resolve_settings`` picks for it. With ``--score``, each model then samples as many rows
as it was fitted on (privacy guard off: what the model itself memorised) and
``tabsyn.evaluate`` scores them against the slice and the whole holdout: quality,
detection, and memorisation (DCR share: the share of synthetic rows closer to a training
row than to a holdout row, 0.5 ideal; exact copies of training rows, beside the holdout's
own rate). Writes ``benchmarks/results/fit_scaling.json`` (``--name``) and prints a markdown table.

    python benchmarks/fit_scaling.py                  # about 2 minutes on 2 cores
    python benchmarks/fit_scaling.py --rows 2000 26048
    python benchmarks/fit_scaling.py --datasets adult default shoppers magic beijing --rows 2000 --score \
        --name fit_scaling_memorisation               # small tables: fidelity and memorisation, about 8 minutes

``--preset '{"noise_mean": -1.2}'`` changes the default preset for every fit (ablations), recorded in the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import SEED, machine, split, stamp, versions  # noqa: E402

from tabsyn import TabSynthesizer  # noqa: E402
from tabsyn.evaluation import evaluate  # noqa: E402
from tabsyn.tabular.presets import PRESETS  # noqa: E402

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2, 30, 200, 2000])
    parser.add_argument("--datasets", nargs="+", default=["adult"])
    parser.add_argument("--score", action="store_true", help="sample and score each model (see above)")
    parser.add_argument("--name", default="fit_scaling", help="results file benchmarks/results/NAME.json")
    parser.add_argument("--preset", type=json.loads, default={},
                        help='changes to the default preset for every fit, as JSON: \'{"noise_mean": -1.2}\'')
    args = parser.parse_args(argv)
    PRESETS["default"] = replace(PRESETS["default"], **args.preset)
    results = []
    for dataset, n in ((d, n) for d in args.datasets for n in args.rows):
        train, holdout, target = split(dataset)
        df = train.iloc[:n].reset_index(drop=True)
        start = time.perf_counter()
        synth = TabSynthesizer(random_state=SEED, verbose=False).fit(df)
        seconds = time.perf_counter() - start
        s = synth.settings_
        record = {"dataset": dataset, "rows": n, "fit_seconds": seconds, "batch_size": s["batch_size"],
                  "vae_steps": s["vae_steps"], "diffusion_steps": s["diffusion_steps"],
                  "diffusion_epochs_run": len(synth.history_["diffusion"].records),
                  "stop_reason": synth.history_["diffusion"].stop_reason, "fit_stages": synth.fit_stages_}
        if args.score:
            synthetic = synth.sample(n, random_state=SEED)
            scores = evaluate(df, synthetic, holdout=holdout, target=target, random_state=SEED).to_dict()
            record.update(quality=scores["fidelity"]["quality_score"],
                          pair_trends=scores["fidelity"]["column_pair_trends"],
                          detection_train=scores["detection"]["roc_auc"],
                          detection_holdout=scores["detection"].get("roc_auc_holdout"),
                          dcr_share=scores["privacy"]["dcr_share"], copy_rate=scores["privacy"]["copy_rate"],
                          holdout_copy_rate=scores["privacy"]["holdout_copy_rate"])
        results.append(record)
        print(json.dumps(record), flush=True)
    out = {"preset_changes": args.preset, "torch_threads": torch.get_num_threads(), "machine": machine(),
           "versions": versions(), "results": results, **stamp(__file__, argv)}
    (HERE / "results" / f"{args.name}.json").write_text(json.dumps(out, indent=2, default=str))
    scored = (" quality | pair trends | detection (train / holdout) | DCR share | copies / holdout's |"
              if args.score else "")
    print("| table | rows | fit s | batch | VAE steps | diffusion steps (budget) | diffusion epochs run | stop |"
          + scored)
    print("|---|---|---|---|---|---|---|---|" + ("---|---|---|---|---|" if args.score else ""))
    for r in results:
        line = (f"| {r['dataset']} | {r['rows']:,} | {r['fit_seconds']:.1f} | {r['batch_size']} | {r['vae_steps']} | "
                f"{r['diffusion_steps']} | {r['diffusion_epochs_run']} | {r['stop_reason']} |")
        if args.score:
            line += (f" {r['quality']:.4f} | {r['pair_trends']:.4f} | {r['detection_train']:.3f} / "
                     f"{r['detection_holdout']:.3f} | {r['dcr_share']:.3f} | {r['copy_rate']:.4f} / "
                     f"{r['holdout_copy_rate']:.4f} |")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
