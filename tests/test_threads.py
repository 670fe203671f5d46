"""Thread counts: n_jobs checked, resolved against idle cores, restored after the work."""

import pytest
import torch

from tabsyn import TabSynthesizer, threads
from tabsyn.threads import busy_cores, check_n_jobs, resolve_n_jobs, torch_threads, usable_cores


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_bad_n_jobs_is_refused_naming_it(bad):
    with pytest.raises(ValueError, match=r"n_jobs must be None \(the idle cores\), -1 \(every core\) or a positive"):
        check_n_jobs(bad)


def test_n_jobs_resolves_to_a_count_and_the_callers_threads_come_back():
    assert resolve_n_jobs(3) == 3 and resolve_n_jobs(-1) == usable_cores()
    assert 1 <= resolve_n_jobs(None) <= usable_cores()
    before = torch.get_num_threads()
    with torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_the_default_leaves_the_cores_other_processes_use(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    monkeypatch.setattr(threads, "busy_cores", lambda window=0.1: 5.2)
    assert resolve_n_jobs(None) == 3
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # two torchrun ranks on this machine share what is idle
    assert resolve_n_jobs(None) == 1
    monkeypatch.setattr(threads, "busy_cores", lambda window=0.1: 9.0)
    assert resolve_n_jobs(None) == 1  # never fewer than one


def test_busy_cores_is_a_measurement_reused_for_a_few_seconds():
    threads._MEASURED.clear()
    first = busy_cores()
    assert 0.0 <= first <= usable_cores() + 1
    assert busy_cores() == first  # reused, not measured again


def test_fit_and_sample_run_with_the_threads_asked_for(adult_small, tiny_settings, monkeypatch):
    seen = []
    synth = TabSynthesizer(random_state=0, n_jobs=1, **tiny_settings).fit(adult_small)
    original = type(synth.model_).sample

    def spy(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(synth.model_), "sample", spy)
    before = torch.get_num_threads()
    synth.sample(10, random_state=0)
    synth.set_params(n_jobs=2).sample(10, random_state=0)
    assert seen == [1, 2] and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_jobs must be"):
        TabSynthesizer(n_jobs=0, **tiny_settings).fit(adult_small)
