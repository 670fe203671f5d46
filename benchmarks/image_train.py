"""Train ImageDDPM on Fashion-MNIST or scikit-learn's 8x8 digits and write sample grids.

    python benchmarks/image_train.py --dataset digits --epochs 150 --out runs/digits
    python benchmarks/image_train.py --dataset fashion_mnist --max-seconds 900 --sample-every 1

Writes into --out: ``grid.png`` (eight samples per class, one row each),
``denoising.png`` (noise -> image, left to right, one row per class), the
fitted model ``model.tabsyn`` (load it with ``tabsyn.load``) and
``summary.json``; with --sample-every, ImageDDPM's own grids too
(``epoch_NNNN.png`` during training, ``final.png`` and ``final_denoising.png``).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from tabsyn.image import ImageDDPM, load_fashion_mnist, save_denoising_strip, save_grid


def load_dataset(name: str, root: str | None = None, seed: int = 0):
    """(X_train, y_train, X_test, y_test, class names) with images in their stored layout."""
    if name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        X = (digits.images / 16.0).astype(np.float32)  # 0..16 -> [0, 1]
        Xtr, Xte, ytr, yte = train_test_split(X, digits.target, test_size=0.25, random_state=seed,
                                              stratify=digits.target)
        return Xtr, ytr, Xte, yte, [str(d) for d in range(10)]
    if name == "fashion_mnist":
        from tabsyn.image.idx import FASHION_MNIST_CLASSES

        Xtr, ytr = load_fashion_mnist(root, "train")
        Xte, yte = load_fashion_mnist(root, "test")
        return Xtr, ytr, Xte, yte, list(FASHION_MNIST_CLASSES)
    raise ValueError(f"--dataset must be 'digits' or 'fashion_mnist'; got {name!r}")


def model_kwargs(args: argparse.Namespace) -> dict:
    """ImageDDPM keyword arguments from the command line (unset ones keep the preset)."""
    kw = dict(config=args.config, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
              beta_schedule=args.beta_schedule, max_seconds=args.max_seconds, random_state=args.seed,
              base_channels=args.base_channels, precision=args.precision, verbose=not args.quiet)
    if args.channel_mults:
        kw["channel_mults"] = tuple(int(m) for m in args.channel_mults.split(","))
    return kw


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="digits", choices=["digits", "fashion_mnist"])
    parser.add_argument("--data-root", default=None, help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("--config", default="small", choices=["small", "baseline", "large"])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--base-channels", type=int, default=None)
    parser.add_argument("--channel-mults", default=None, help="e.g. 1,2,2")
    parser.add_argument("--beta-schedule", default="linear", choices=["linear", "cosine"])
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--max-seconds", type=float, default=None, help="training time budget")
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument("--sample-every", type=int, default=None, help="grid every N epochs")
    parser.add_argument("--guidance-scale", type=float, default=2.0)
    parser.add_argument("--out", default="runs/image_train")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    Xtr, ytr, _, _, names = load_dataset(args.dataset, args.data_root, args.seed)
    if args.train_limit:
        Xtr, ytr = Xtr[: args.train_limit], ytr[: args.train_limit]
    os.makedirs(args.out, exist_ok=True)
    grids = dict(sample_every=args.sample_every, sample_dir=args.out) if args.sample_every else {}
    model = ImageDDPM(**model_kwargs(args), **grids)
    start = time.perf_counter()
    model.fit(Xtr, ytr)
    seconds = time.perf_counter() - start
    model.save(os.path.join(args.out, "model.tabsyn"))

    # Eight samples per class, one row each, and the denoising of one image per class.
    y = np.repeat(model.classes_, 8)
    images, frames = model.sample(len(y), y=y, guidance_scale=args.guidance_scale, random_state=args.seed,
                                  return_intermediates=True)
    save_grid(images, os.path.join(args.out, "grid.png"), labels=y)
    save_denoising_strip(frames[:, ::8], os.path.join(args.out, "denoising.png"))
    summary = {
        "dataset": args.dataset, "train_images": int(len(Xtr)), "fit_seconds": round(seconds, 1),
        "epochs_run": len(model.history_.records), "stop_reason": model.history_.stop_reason,
        "final_train_loss": model.history_.records[-1]["train_loss"], "settings": model.settings_,
        "classes": names,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, default=list)
    print(json.dumps({k: v for k, v in summary.items() if k != "settings"}, default=list))
    print(f"pictures in {args.out}/grid.png and {args.out}/denoising.png")


if __name__ == "__main__":
    main()
