"""Run under torchrun by tests/test_distributed.py: fit on a CSV and record this rank's weights.

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/_ddp_fit.py data.csv OUT_DIR
"""

import json
import sys

import pandas as pd

from tabsyn import TabSynthesizer, distributed

data, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(data)
with distributed.process_group("cpu"):
    synth = TabSynthesizer(preset="fast", vae_steps=30, diffusion_steps=40, random_state=0, verbose=False,
                           device="cpu").fit(df)
    record = {
        "world": distributed.world_size(),
        "rank": distributed.rank(),
        "batch_size": synth.settings_["batch_size"],
        "steps": sum(1 for _ in synth.history_["diffusion"].records),
        "val_loss": synth.history_["diffusion"].records[-1]["val_loss"],
        "weights": {f"{stage}.{name}": float(t.double().sum())
                    for stage, net in (("vae", synth.model_.vae), ("denoiser", synth.model_.denoiser))
                    for name, t in net.state_dict().items()},
    }
with open(f"{out}/rank{record['rank']}.json", "w") as f:
    json.dump(record, f)
