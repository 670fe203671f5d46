"""The commands: ``tabsyn fit``, ``sample``, ``impute``, ``evaluate`` and ``demo``, each a
function of the parsed arguments; tabsyn itself is imported when a command runs."""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tabsyn.cli.errors import CLIError
from tabsyn.cli.inputs import PARQUET, read_table
from tabsyn.cli.outputs import (_is_folder, _report_formulas, atomic_output, check_output, output_format,
                                write_csv_atomic, write_table_atomic)
from tabsyn.cli.shards import parse_shard, shard_path, shard_rows


def _load_model(path: str, threads: int | None = None):
    import tabsyn
    from tabsyn.persistence import ModelFileError

    try:
        model = tabsyn.load(path)
    except FileNotFoundError:
        raise CLIError(f"no such model file: {path}") from None
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    if not isinstance(model, tabsyn.TabSynthesizer):
        raise CLIError(f"{path} holds a {type(model).__name__}, not a TabSynthesizer")
    return model.set_params(n_jobs=threads)


@contextmanager
def _long_fit_as_one_line(preset: str):
    """A fit's LongFitWarning printed as one line on stderr, naming tabsyn fit's options; others as they are."""
    from tabsyn.tabular.estimate import LongFitWarning

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if not issubclass(category, LongFitWarning):
            return shown(message, category, filename, lineno, file, line)
        quicker = ("--preset fast, " if preset != "fast" else "") + "--time-budget SECONDS"
        print(f"tabsyn fit: warning: this fit is estimated to take {message.estimate.describe()}; for a quicker "
              f"one: {quicker}, or fewer --vae-steps / --diffusion-steps", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def cmd_fit(args) -> None:
    from tabsyn import TabSynthesizer, distributed

    df = read_table(args.data)
    if args.target is not None and args.target not in df.columns:
        raise CLIError(f"--target {args.target!r} is not a column of {args.data}; columns: {list(df.columns)}")
    check_output(args.output, "-o")
    # Under torchrun (tabsyn.distributed) every rank fits its shard; rank 0 alone writes and prints.
    with distributed.process_group(args.device):
        synth = TabSynthesizer(preset=args.preset, device=args.device, random_state=args.seed,
                               verbose=not args.quiet and distributed.is_writer(), time_budget=args.time_budget,
                               vae_steps=args.vae_steps, diffusion_steps=args.diffusion_steps, n_jobs=args.threads,
                               dp_epsilon=args.dp_epsilon, dp_delta=args.dp_delta)
        with _long_fit_as_one_line(args.preset):
            synth.fit(df)
        if not distributed.is_writer():
            return
        with atomic_output(args.output) as tmp:
            synth.save(tmp)
        ranks = f" on {distributed.world_size()} ranks" if distributed.active() else ""
    stages = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in synth.fit_stages_.items())
    print(f"fitted {len(df)} rows x {df.shape[1]} columns in {synth.fit_seconds_:.0f} s ({stages}){ranks}; "
          f"model written to {args.output}")
    if synth.privacy_ is not None:
        p, split = synth.privacy_, synth.privacy_["split"]
        print(f"differential privacy: ({p['spent_epsilon']:.3g}, {p['delta']:.3g})-DP of the {p['epsilon']:g} asked "
              f"for ({p['accountant']}); column statistics {split['preprocessing']['epsilon']:.3g}, DP-SGD "
              f"{split['gaussian']['spent_epsilon']:.3g} (noise multiplier {split['vae']['noise_multiplier']:.3g}, "
              f"{split['vae']['steps']} VAE + {split['denoiser']['steps']} denoiser steps); "
              f"no training rows stored")


def _parse_condition(synth, text: str) -> tuple[object, object]:
    """``COLUMN=VALUE`` -> (column label, value typed as the column holds it)."""
    if "=" not in text:
        raise CLIError(f"--condition takes COLUMN=VALUE; got {text!r}")
    name, raw = text.split("=", 1)
    specs = {str(s.name): s for s in synth.columns_}
    if name not in specs:
        raise CLIError(f"--condition {text!r}: no column named {name!r}; the columns are {list(specs)}")
    spec = specs[name]
    if raw == "":
        return spec.name, None
    if spec.kind == "numerical":
        try:
            number = float(raw)
        except ValueError:
            raise CLIError(f"--condition {text!r}: column {name!r} is numerical; {raw!r} is not a number") from None
        return spec.name, int(number) if number.is_integer() and "int" in spec.dtype.lower() else number
    if spec.kind == "categorical":
        # The CSV gave text: match it to a category by its written form ("1" -> 1, "True" -> True).
        for value in synth.model_.codec.categories(spec.name):
            if str(value) == raw or (isinstance(value, bool) and str(value).lower() == raw.lower()):
                return spec.name, value
    return spec.name, raw  # dates and unknown categories: the model says what it accepts


def _print_guard(reports: list) -> None:
    """One line: what the privacy guard replaced over all batches."""
    from tabsyn.table.guard import GuardReport

    print(GuardReport.total(reports))


def cmd_sample(args) -> None:
    batch = args.batch_size
    if batch <= 0:
        raise CLIError(f"--batch-size must be a positive integer; got {batch}")
    if (args.n is None) == (args.known is None):
        raise CLIError("give either -n N (rows to sample) or --known known.csv (rows to complete)")
    if args.n is not None and args.n <= 0:
        raise CLIError(f"-n must be a positive integer; got {args.n}")
    if args.known is not None and args.condition:
        raise CLIError("--condition and --known do not go together; put the fixed values in the known CSV")
    fmt = output_format(args.output, args.format)
    if fmt == PARQUET and args.escape_formulas:
        raise CLIError("--escape-formulas is for CSV outputs; Parquet stores cells as typed values, which "
                       "spreadsheets do not run as formulas")
    if os.path.isdir(args.output) and not _is_folder(args.output):
        raise CLIError(f"cannot write -o {args.output}: it is a folder; give a file name inside it, or end it "
                       f"with / to write part-00000.{fmt} files into it")
    k, shards, where = parse_shard(args.shard) if args.known is None else (0, 1, "one process")
    if args.known is not None and (args.shard is not None or os.environ.get("WORLD_SIZE", "1") != "1"):
        raise CLIError("--known completes the rows of one file in one process; --shard (and torchrun's "
                       "RANK/WORLD_SIZE) apply to -n only")
    if shards > 1 and args.seed is None:
        raise CLIError(f"{where} needs --seed: every shard must draw from the same stream for the shards to "
                       f"make up one sample; give each shard the same --seed")
    output = shard_path(args.output, fmt, k, shards)
    synth = _load_model(args.model, args.threads)
    guard = args.privacy_quantile if args.privacy_guard else False
    if guard is not False and synth.guard_ is None:  # a DP model keeps no rows to compare with
        print(f"privacy guard: off, this model is ({synth.privacy_['spent_epsilon']:.3g}, "
              f"{synth.privacy_['delta']:.3g})-differentially private and stores no training rows")
        guard = False
    clock = time.perf_counter()
    # Without --seed, fresh randomness: the stream saved in the model file would repeat rows.
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    if args.known is not None:
        known = read_table(args.known)
        check_output(output, "-o")
        frames = [synth.sample_remaining_columns(known, privacy_guard=guard, guidance_scale=args.guidance_scale,
                                                 random_state=seed, batch_size=batch, strict_guard=args.strict_guard)]
        first, last = 0, len(known)
    else:
        conditions = dict(_parse_condition(synth, c) for c in args.condition) or None
        check_output(output, "-o")
        first, last = shard_rows(args.n, k, shards)
        if last > first:
            frames = synth.sample_batches(last - first, conditions=conditions, privacy_guard=guard, start=first,
                                          guidance_scale=args.guidance_scale, random_state=seed, batch_size=batch,
                                          strict_guard=args.strict_guard)
        else:   # more shards than rows: this one is empty, with the table's columns and dtypes
            frames = [synth.sample(1, conditions=conditions, random_state=seed).iloc[:0]]
    reports = []

    def keep_reports(batches):
        for frame in batches:
            reports.append(frame.attrs.get("privacy_guard"))
            yield frame

    formulas = Counter()
    rows = write_table_atomic(keep_reports(frames), output, fmt, escape_formulas=args.escape_formulas,
                              counts=formulas)
    span = f"rows {first}..{last - 1}" if last > first else "no rows"
    part = f" ({span} of {args.n}, shard {k}/{shards})" if shards > 1 else ""
    print(f"wrote {rows} synthetic rows{part} to {output} in {time.perf_counter() - clock:.1f} s")
    if guard is not False and any(reports):
        _print_guard(reports)
    _report_formulas("sample", output, formulas, args.escape_formulas)


def cmd_impute(args) -> None:
    synth = _load_model(args.model, args.threads)
    if args.draws <= 0:
        raise CLIError(f"--draws must be a positive integer; got {args.draws}")
    fmt = output_format(args.output, None)
    if fmt == PARQUET and args.escape_formulas:
        raise CLIError("--escape-formulas is for CSV outputs; Parquet stores cells as typed values")
    df = read_table(args.data)
    check_output(args.output, "-o")
    start = time.perf_counter()
    filled = synth.impute(df, draws=args.draws, guidance_scale=args.guidance_scale, random_state=args.seed)
    holes = int(df.isna().to_numpy().sum()) - int(filled.isna().to_numpy().sum())
    formulas = Counter()
    rows = write_table_atomic([filled], args.output, fmt, escape_formulas=args.escape_formulas, counts=formulas)
    print(f"filled {holes} missing cells in {rows} rows; wrote {args.output} in {time.perf_counter() - start:.1f} s")
    _report_formulas("impute", args.output, formulas, args.escape_formulas)


def cmd_evaluate(args) -> None:
    from tabsyn.evaluation import evaluate

    real, synthetic = read_table(args.real), read_table(args.synthetic)
    holdout = read_table(args.holdout) if args.holdout else None
    for path, option in ((args.report, "--report"), (args.json, "--json")):
        if path:
            check_output(path, option)
    result = evaluate(real, synthetic, holdout=holdout, target=args.target, verbose=not args.quiet)
    _write_reports(result, args.report, args.json)


def _write_reports(result, report: str | None, json_path: str | None) -> None:
    scores = result.to_dict()
    if report:
        with atomic_output(report) as tmp:
            result.to_html(tmp)
        print(f"report: {os.path.abspath(report)}")
    if json_path:
        with atomic_output(json_path) as tmp:
            Path(tmp).write_text(json.dumps(scores, indent=2, default=str))
        print(f"scores: {os.path.abspath(json_path)}")
    print(result)  # every score with what a good value is, then warnings


def cmd_demo(args) -> None:
    from tabsyn import TabSynthesizer
    from tabsyn.datasets import load_adult, train_holdout_split
    from tabsyn.evaluation import evaluate

    out = Path(args.out)
    files = {name: out / name for name in ("adult_synthetic.csv", "adult.tabsyn", "report.html", "scores.json")}
    for path in files.values():
        check_output(path, "--out")
    df, target, _ = load_adult()
    train, holdout = train_holdout_split(df, seed=0)
    print(f"Adult: {len(train)} training rows, {len(holdout)} holdout rows, target {target!r}")
    synth = TabSynthesizer(preset=args.preset, random_state=args.seed, verbose=not args.quiet, n_jobs=args.threads)
    synth.fit(train)
    print(f"fit: {synth.fit_seconds_:.0f} s")
    start = time.perf_counter()
    guard = args.privacy_quantile if args.privacy_guard else False
    synthetic = synth.sample(args.rows or len(train), privacy_guard=guard)
    print(f"sample: {len(synthetic)} rows in {time.perf_counter() - start:.1f} s")
    if guard is not False:
        _print_guard([synthetic.attrs["privacy_guard"]])
    write_csv_atomic([synthetic], files["adult_synthetic.csv"])
    with atomic_output(files["adult.tabsyn"]) as tmp:
        synth.save(tmp)
    print(f"synthetic CSV: {files['adult_synthetic.csv'].resolve()}\nmodel: {files['adult.tabsyn'].resolve()}")
    result = evaluate(train, synthetic, holdout=holdout, target=target, verbose=not args.quiet)
    _write_reports(result, str(files["report.html"]), str(files["scores.json"]))
