import os
import pickle

import pytest
import torch

import tabsyn
from tabsyn import TabSynthesizer
from tabsyn.persistence import ModelFileError, VersionMismatchWarning


class _RunsCode:
    """Unpickling this calls os.system: what a crafted model file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_load_refuses_a_file_that_would_run_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.tabsyn"
    torch.save({"format": "tabsyn", "class": "TabSynthesizer", "state": _RunsCode(marker)}, path)
    with pytest.raises(ModelFileError, match="holds objects other than plain data"):
        tabsyn.load(path)
    assert not marker.exists()
    # The same file does run code when unpickled the unsafe way.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_load_refuses_a_plain_pickle(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError, match="model.pkl' holds objects other than plain data"):
        tabsyn.load(path)
    path.write_text("age,income\n39,<=50K\n")
    with pytest.raises(ModelFileError, match="is not a tabsyn model file"):
        tabsyn.load(path)


def test_load_refuses_other_classes_and_missing_files(tmp_path):
    path = tmp_path / "m"
    torch.save({"format": "tabsyn", "class": "Popen", "state": {}}, path)
    with pytest.raises(ModelFileError, match="names class 'Popen'; tabsyn loads only"):
        tabsyn.load(path)
    with pytest.raises(FileNotFoundError, match="no model file at"):
        tabsyn.load(tmp_path / "nothing")


def test_a_file_from_another_version_warns(tmp_path):
    path = tmp_path / "m"
    TabSynthesizer().save(path)
    payload = torch.load(path, weights_only=True)
    payload["tabsyn_version"] = "0.0.1"
    torch.save(payload, path)
    with pytest.warns(VersionMismatchWarning, match="written by tabsyn 0.0.1"):
        tabsyn.load(path)


def test_weights_that_do_not_fit_the_networks_are_refused_clearly(tmp_path, adult_small):
    synth = TabSynthesizer(preset="fast", vae_steps=3, diffusion_steps=3, sampling_steps=2, verbose=False).fit(
        adult_small.head(200))
    state = synth._to_state()
    del state["fitted"]["denoiser"]["net.cond_proj.weight"]  # as a file from another network layout would be
    with pytest.raises(ModelFileError, match=r"stored weights do not fit this tabsyn's networks .* fit it again"):
        TabSynthesizer._from_state(state)
