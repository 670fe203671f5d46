import os
import pickle

import numpy as np
import pytest
import torch

import tabsyn
from tabsyn import TabSynthesizer, persistence
from tabsyn.base import BaseSynthesizer
from tabsyn.persistence import FORMAT_VERSION, ModelFileError, VersionMismatchWarning

# torch's advice when its safe loader refuses a file; tabsyn's messages must never pass it on.
TORCH_HINT = "weights_only"


def write_payload(path, **fields):
    """A model file written by hand, as an older or a broken tabsyn could have."""
    payload = {"format": "tabsyn", "format_version": FORMAT_VERSION, "class": "TabSynthesizer",
               "tabsyn_version": tabsyn.__version__, "state": {"params": {}}}
    torch.save({**payload, **fields}, path)
    return path


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
    with pytest.raises(ModelFileError, match=r"holds objects other than plain data.*refers to \w+\.system") as info:
        tabsyn.load(path)
    assert TORCH_HINT not in str(info.value)
    assert not marker.exists()
    # The same file does run code when unpickled the unsafe way.
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_load_refuses_a_plain_pickle(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError, match="model.pkl' holds objects other than plain data") as info:
        tabsyn.load(path)
    assert TORCH_HINT not in str(info.value)
    path.write_text("age,income\n39,<=50K\n")
    with pytest.raises(ModelFileError, match="is not a tabsyn model file"):
        tabsyn.load(path)


def test_load_refuses_other_classes_and_missing_files(tmp_path):
    path = tmp_path / "m"
    write_payload(path, **{"class": "Popen"})
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


def drop_weight(state: dict, suffix: str) -> bool:
    """Delete the first weight whose name ends with ``suffix``, wherever the state keeps it."""
    for key, value in list(state.items()):
        if isinstance(value, dict):
            if drop_weight(value, suffix):
                return True
        elif isinstance(key, str) and key.endswith(suffix):
            del state[key]
            return True
    return False


def test_weights_that_do_not_fit_the_networks_are_refused_clearly(tmp_path, adult_small):
    synth = TabSynthesizer(preset="fast", vae_steps=3, diffusion_steps=3, sampling_steps=2, verbose=False).fit(
        adult_small.head(200))
    path = tmp_path / "m.tabsyn"
    synth.save(path)
    payload = torch.load(path, weights_only=True)
    assert drop_weight(payload["state"], "cond_proj.weight")  # as a file from another network layout would be
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match=r"m.tabsyn': the stored weights do not fit this tabsyn's networks "
                                             r".* fit (it|the model) again") as info:
        tabsyn.load(path)
    assert "\n" not in str(info.value)


def test_torch_advice_to_load_unsafely_never_reaches_the_message(tmp_path):
    path = tmp_path / "arrays.pt"
    torch.save({"format": "tabsyn", "state": np.zeros(3)}, path)  # a raw ndarray is a pickled global
    with pytest.raises(ModelFileError, match=r"Detail: it refers to numpy\.\S+_reconstruct$") as info:
        tabsyn.load(path)
    assert TORCH_HINT not in str(info.value) and "Re-running" not in str(info.value)
    assert "\n" not in str(info.value)


def test_random_bytes_are_not_a_model_file(tmp_path):
    path = tmp_path / "noise.bin"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelFileError, match="noise.bin' (is not a tabsyn model file|holds objects)") as info:
        tabsyn.load(path)
    assert TORCH_HINT not in str(info.value)


def test_a_file_of_another_format_version_is_refused_saying_who_wrote_it(tmp_path):
    path = write_payload(tmp_path / "old.tabsyn", format_version=1, tabsyn_version="0.1.0")
    with pytest.raises(ModelFileError) as info:
        tabsyn.load(path)
    message = str(info.value)
    assert "written by tabsyn 0.1.0 in model-file format 1" in message
    assert f"this is tabsyn {tabsyn.__version__}, which reads format {FORMAT_VERSION} only" in message
    assert message.endswith("Fit the model again with this version, or load the file with tabsyn 0.1.0")
    # Without a recorded version the message still says what to do.
    write_payload(path, format_version=None, tabsyn_version=None)
    with pytest.raises(ModelFileError, match="written by an unknown tabsyn version in model-file format None"):
        tabsyn.load(path)


def test_a_malformed_state_is_a_one_line_model_file_error(tmp_path):
    path = tmp_path / "bogus.tabsyn"
    cases = {
        "it lacks the entry 'params'": {},
        "TypeError: .*unexpected keyword argument 'nope'": {"params": {"nope": 1}},
        "it lacks the entry 'state'": None,
    }
    for what, state in cases.items():
        write_payload(path, state=state)
        with pytest.raises(ModelFileError, match=rf"bogus.tabsyn' is a tabsyn model file but its TabSynthesizer "
                                                 rf"state is malformed \({what}\).*fit the model again") as info:
            tabsyn.load(path)
        assert type(info.value) is ModelFileError and "\n" not in str(info.value)


def test_load_finds_the_estimators_registered_by_their_classes():
    from tabsyn.image.ddpm import ImageDDPM

    classes = persistence.registered()
    assert classes["TabSynthesizer"] is TabSynthesizer and classes["ImageDDPM"] is ImageDDPM


class _TunedSynthesizer(TabSynthesizer):
    """A user's subclass: it registers itself by being defined."""


def test_a_subclass_saves_and_loads_as_itself(tmp_path):
    _TunedSynthesizer(preset="fast").save(tmp_path / "m")
    loaded = tabsyn.load(tmp_path / "m")
    assert type(loaded) is _TunedSynthesizer and loaded.preset == "fast"


def test_a_second_class_of_a_registered_name_is_refused():
    with pytest.raises(TypeError, match="TabSynthesizer is registered under the same name 'TabSynthesizer'"):
        class TabSynthesizer(BaseSynthesizer):  # noqa: F811 (the clash is the point)
            pass
    assert persistence.registered()["TabSynthesizer"] is tabsyn.TabSynthesizer
