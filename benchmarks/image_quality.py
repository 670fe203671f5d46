"""How good are ImageDDPM's class-conditional samples? A classifier trained on real images judges them.

    python benchmarks/image_quality.py --dataset digits          # the "small" defaults (1,500 steps)
    python benchmarks/image_quality.py --dataset fashion_mnist --threads 1 --per-class 50

1. Train an MLP classifier (scikit-learn, one hidden layer of 256 ReLUs) on the
   real training pixels.
2. Fit ImageDDPM on the same training images, then draw the same number of
   images for every class with classifier-free guidance.
3. Report (a) the classifier's accuracy on the samples (requested class vs
   predicted) beside its accuracy on the real test images, and (b) the Frechet
   distance between real test images and samples in the classifier's hidden
   layer, beside the distance between real test and real training images.

Results go to benchmarks/results/image_<name>.json (name: --name, default the
dataset), a table over every such file to benchmarks/IMAGE_RESULTS.md, and a
grid of samples (one row per class, at the guidance scale with the best
accuracy) to benchmarks/<name>_grid.png with its denoising strip beside it.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import scipy.linalg
import torch
from sklearn.neural_network import MLPClassifier

from image_train import add_model_arguments, load_dataset, model_kwargs
from tabsyn.image import ImageDDPM, save_denoising_strip, save_grid

HERE = os.path.dirname(os.path.abspath(__file__))


def flat01(images: np.ndarray) -> np.ndarray:
    """Images of any layout, uint8 or [0, 1] floats -> (N, pixels) float64 in [0, 1]."""
    x = images.reshape(len(images), -1).astype(np.float64)
    return x / 255.0 if images.dtype == np.uint8 else x


def hidden_features(clf: MLPClassifier, x: np.ndarray) -> np.ndarray:
    """Activations of the classifier's hidden layer (ReLU)."""
    return np.maximum(x @ clf.coefs_[0] + clf.intercepts_[0], 0.0)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between two feature sets."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    # A tiny ridge keeps the product non-singular (dead ReLUs give zero-variance features).
    ridge = 1e-6 * np.eye(a.shape[1])
    s_a, s_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    covmean = np.real(scipy.linalg.sqrtm(s_a @ s_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2.0 * covmean))


def write_table(results_dir: str, path: str) -> None:
    """IMAGE_RESULTS.md: one row per dataset and guidance scale, from every results/image_*.json."""
    lines = [
        "# ImageDDPM sample quality",
        "",
        "Written by `benchmarks/image_quality.py`. A one-hidden-layer MLP trained on the real",
        "training pixels judges the samples: *accuracy* = share of class-conditional samples it",
        "assigns to the requested class; *FD* = Frechet distance to the real test images in its",
        "256-unit hidden layer. The *real* columns are the same figures for real images (test",
        "accuracy; FD between real training and real test images), the floor to compare with.",
        "",
        "| dataset | config | train images | fit (CPU) | epochs | sampler | guidance | samples "
        "| accuracy (samples) | accuracy (real test) | FD (samples) | FD (real) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for file in sorted(glob.glob(os.path.join(results_dir, "image_*.json"))):
        with open(file) as f:
            r = json.load(f)
        for g in r["guidance"]:
            threads = f"{r['threads']} thread" + ("s" if r["threads"] > 1 else "")
            lines.append(
                f"| {r['dataset']} | {r.get('config_label', r['config'])} | {r['train_images']} | "
                f"{r['fit_seconds'] / 60:.1f} min ({threads}) | {r['epochs_run']} | "
                f"{r['sampler']} {r['steps']} steps | "
                f"{g['guidance_scale']:g} | {r['n_samples']} | {g['sample_accuracy']:.1%} | "
                f"{r['real']['test_accuracy']:.1%} | {g['fd_samples_vs_test']:.2f} | "
                f"{r['real']['fd_train_vs_test']:.2f} |"
            )
        note = f" {r['note']}" if r.get("note") else ""
        notes.append(f"- {r['dataset']}: `{r['command']}` ({r['date']}, torch {r['torch']}, {r['cpu']}).{note}")
    lines += ["", "Commands:", ""] + notes + [""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def config_label(args: argparse.Namespace) -> str:
    """The preset plus whatever the command line changed, e.g. 'small, base_channels=16, bfloat16'."""
    parts = [args.config]
    for name in ("base_channels", "channel_mults", "lr", "batch_size"):
        if getattr(args, name) is not None:
            parts.append(f"{name}={getattr(args, name)}")
    if args.beta_schedule != "linear":
        parts.append(f"{args.beta_schedule} schedule")
    if args.precision != "float32":
        parts.append(args.precision)
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--guidance-scales", default="1,2,3", help="comma-separated scales to evaluate")
    parser.add_argument("--per-class", type=int, default=None, help="samples per class (default: test size / classes)")
    parser.add_argument("--sampler", default="ddim", choices=["ddim", "ddpm"])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--name", default=None, help="results/image_<name>.json and <name>_grid.png (default: dataset)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    tag = args.dataset
    name = args.name or tag

    # -- data and the judging classifier ---------------------------------------
    Xtr, ytr, Xte, yte, names = load_dataset(args.dataset, args.data_root, args.seed)
    if args.train_limit:
        Xtr, ytr = Xtr[: args.train_limit], ytr[: args.train_limit]
    t0 = time.perf_counter()
    clf = MLPClassifier(hidden_layer_sizes=(256,), max_iter=200 if tag == "digits" else 40,
                        early_stopping=True, random_state=0)
    clf.fit(flat01(Xtr), ytr)
    real_acc = float(clf.score(flat01(Xte), yte))
    f_test = hidden_features(clf, flat01(Xte))
    rng = np.random.default_rng(args.seed)
    per_class = args.per_class or max(1, len(Xte) // len(names))
    n = per_class * len(names)
    ref = Xtr[rng.choice(len(Xtr), size=min(n, len(Xtr)), replace=False)]
    fd_real = frechet_distance(hidden_features(clf, flat01(ref)), f_test)
    print(f"classifier: test accuracy {real_acc:.3f}, FD(train, test) {fd_real:.2f} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)

    # -- fit the diffusion model ---------------------------------------------------
    model = ImageDDPM(**model_kwargs(args))
    t0 = time.perf_counter()
    model.fit(Xtr, ytr)
    fit_seconds = time.perf_counter() - t0
    print(f"fit: {fit_seconds:.0f} s, {len(model.history_.records)} epochs, "
          f"final loss {model.history_.records[-1]['train_loss']:.4f} ({model.history_.stop_reason})", flush=True)

    # -- judge class-conditional samples at each guidance scale ---------------------
    y_req = np.repeat(model.classes_, per_class)
    rows = []
    for scale in [float(s) for s in args.guidance_scales.split(",")]:
        t0 = time.perf_counter()
        samples = model.sample(n, y=y_req, guidance_scale=scale, sampler=args.sampler, steps=args.steps,
                               random_state=args.seed)
        seconds = time.perf_counter() - t0
        acc = float((clf.predict(flat01(samples)) == y_req).mean())
        fd = frechet_distance(hidden_features(clf, flat01(samples)), f_test)
        rows.append({"guidance_scale": scale, "sample_accuracy": acc, "fd_samples_vs_test": fd,
                     "sample_seconds": round(seconds, 1)})
        print(f"guidance {scale:g}: accuracy {acc:.3f}, FD {fd:.2f} ({seconds:.0f} s for {n} samples)", flush=True)

    # -- pictures: eight per class at the best-accuracy scale, plus the denoising strip ----------
    best = max(rows, key=lambda r: r["sample_accuracy"])["guidance_scale"]
    y_grid = np.repeat(model.classes_, 8)
    grid, frames = model.sample(len(y_grid), y=y_grid, guidance_scale=best, sampler=args.sampler,
                                steps=args.steps, random_state=args.seed, return_intermediates=True)
    save_grid(grid, os.path.join(HERE, f"{name}_grid.png"), labels=y_grid)
    save_denoising_strip(frames[:, ::8], os.path.join(HERE, f"{name}_denoising.png"))

    result = {
        "dataset": tag, "config": args.config, "config_label": config_label(args), "settings": model.settings_,
        "train_images": int(len(Xtr)), "test_images": int(len(Xte)), "classes": names,
        "fit_seconds": round(fit_seconds, 1), "epochs_run": len(model.history_.records),
        "stop_reason": model.history_.stop_reason,
        "loss_history": [round(r["train_loss"], 5) for r in model.history_.records],
        "sampler": args.sampler, "steps": args.steps, "n_samples": n, "guidance": rows,
        "grid_guidance_scale": best,
        "real": {"test_accuracy": real_acc, "fd_train_vs_test": fd_real},
        "classifier": "MLPClassifier(hidden_layer_sizes=(256,), early_stopping=True) on pixels in [0, 1]",
        "threads": torch.get_num_threads(), "torch": torch.__version__, "cpu": _cpu_name(),
        "command": "python benchmarks/image_quality.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d"),
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", f"image_{name}.json"), "w") as f:
        json.dump(result, f, indent=2, default=list)
    write_table(os.path.join(HERE, "results"), os.path.join(HERE, "IMAGE_RESULTS.md"))


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f", {os.cpu_count()} cores"
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
