import copy
import math
import types

import pytest
import torch

import tabsyn.training
from tabsyn.training import EMA, TimeBudget, TrainConfig, TrainingDivergedError, adam, train


def _regression(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(256, 1, generator=g)
    return x, y


def test_ema_update_is_the_exponential_average():
    model = torch.nn.Linear(2, 1)
    ema = EMA(model, decay=0.9)
    before = ema.model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    assert torch.allclose(ema.model.weight, 0.9 * before + 0.1 * model.weight)


def test_ema_rejects_a_decay_outside_zero_one():
    with pytest.raises(ValueError, match="ema decay must be in \\(0, 1\\); got 1.5"):
        EMA(torch.nn.Linear(1, 1), 1.5)


def test_train_lowers_the_loss_and_keeps_a_history():
    x, y = _regression()
    model = torch.nn.Linear(3, 1)
    hist = train(
        model, config=TrainConfig(max_epochs=30, lr=0.05),
        batches=lambda: [slice(0, 128), slice(128, 256)],
        loss_fn=lambda s: ((model(x[s]) - y[s]) ** 2).mean(), verbose=False,
    )
    losses = hist.column("train_loss")
    assert len(losses) == 30 and losses[-1] < 0.1 * losses[0]
    assert hist.stop_reason == "max_epochs=30 reached"


def test_early_stopping_restores_the_best_weights():
    x, y = _regression()
    model = torch.nn.Linear(3, 1)
    # A validation metric that is best at epoch 2 and then gets worse.
    scores = iter([5.0, 4.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    snapshots = {}

    def validate(m):
        snapshots[len(snapshots)] = m.weight.detach().clone()
        return {"val_loss": next(scores)}

    hist = train(
        model, config=TrainConfig(max_epochs=8, lr=0.05, patience=3),
        batches=lambda: [slice(0, 256)], loss_fn=lambda s: ((model(x[s]) - y[s]) ** 2).mean(),
        validate=validate, verbose=False,
    )
    assert hist.best_epoch == 2 and hist.best_value == 1.0
    assert len(hist.records) == 6  # epochs 3, 4, 5 did not improve
    assert "no improvement" in hist.stop_reason
    assert torch.equal(model.weight, snapshots[2])


def test_a_non_finite_loss_stops_training_with_a_clear_error():
    model = torch.nn.Linear(1, 1)
    with pytest.raises(TrainingDivergedError, match="became nan at epoch 0"):
        train(model, config=TrainConfig(max_epochs=3), batches=lambda: [0],
              loss_fn=lambda _: model.weight.sum() * float("nan"), desc="toy", verbose=False)


def test_warmup_scales_the_first_steps():
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    # Loss = -w, gradient -1: with SGD-like Adam the first step moves by ~lr / warmup.
    train(model, config=TrainConfig(max_epochs=1, lr=1.0, warmup_steps=10),
          batches=lambda: [0], loss_fn=lambda _: -model.weight.sum(), verbose=False)
    assert model.weight.item() == pytest.approx(0.1, rel=1e-3)


def test_cosine_decay_follows_the_schedule_and_ends_at_zero():
    """Loss = -w (Adam's step is about lr): each step moves w by the scheduled rate."""
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    steps = 8
    train(model, config=TrainConfig(max_epochs=steps, lr=1.0, decay_steps=steps),
          batches=lambda: [0], loss_fn=lambda _: -model.weight.sum(), verbose=False)
    expected = sum(tabsyn.training.lr_factor(k, 0, steps) for k in range(steps))
    assert model.weight.item() == pytest.approx(expected, rel=1e-3)
    assert tabsyn.training.lr_factor(steps, 0, steps) == 0.0
    assert tabsyn.training.lr_factor(steps - 1, 0, steps) < 0.05


# -- EMA with validation ---------------------------------------------------------------------------
def test_ema_weights_are_validated_and_the_best_ones_end_in_the_model():
    # One step an epoch on loss = -w, so the raw weight keeps moving; the EMA trails it.
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    decay = 0.5
    raw, judged = [], []
    scores = iter([3.0, 2.0, 1.0, 1.5, 2.5, 9.0, 9.0])  # best at epoch 2, then 2 evaluations without gain

    def validate(m):
        assert m is not model and not m.training  # the EMA copy, in eval mode
        judged.append(m.weight.item())
        return {"val_loss": next(scores)}

    hist = train(model, config=TrainConfig(max_epochs=7, lr=0.1, ema_decay=decay, patience=2),
                 batches=lambda: [0], loss_fn=lambda _: -model.weight.sum(), validate=validate,
                 on_epoch_end=lambda epoch, record: raw.append(model.weight.item()), verbose=False)
    # Early stopping on patience: epochs 3 and 4 did not improve on epoch 2.
    assert hist.best_epoch == 2 and hist.best_value == 1.0 and len(hist.records) == 5
    assert hist.stop_reason == "no improvement in val_loss for 2 evaluations"
    # What was validated is the EMA of the raw weights, not the raw weights.
    ema, expected = 0.0, []
    for w in raw:
        ema = decay * ema + (1 - decay) * w
        expected.append(ema)
    assert judged == pytest.approx(expected, abs=1e-6)
    assert all(abs(j - w) > 1e-3 for j, w in zip(judged, raw))
    # The best validated (EMA) weights end in the model: neither the last raw nor the last EMA ones.
    assert model.weight.item() == pytest.approx(expected[2], abs=1e-7)
    assert not model.training


def test_ema_without_validation_leaves_the_ema_weights_in_the_model():
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    raw = []
    train(model, config=TrainConfig(max_epochs=3, lr=0.1, ema_decay=0.5), batches=lambda: [0],
          loss_fn=lambda _: -model.weight.sum(), on_epoch_end=lambda e, r: raw.append(model.weight.item()),
          verbose=False)
    ema = 0.0
    for w in raw:
        ema = 0.5 * ema + 0.5 * w
    assert model.weight.item() == pytest.approx(ema, abs=1e-7) and model.weight.item() < raw[-1] - 1e-3


# -- time budget ---------------------------------------------------------------------------------------
class FakeClock(types.SimpleNamespace):
    """Stands in for the time module inside tabsyn.training: time moves only when told."""

    def __init__(self):
        super().__init__(now=0.0)

    def perf_counter(self):
        return self.now


def test_time_budget_counts_from_its_creation(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(tabsyn.training, "time", clock)
    clock.now = 100.0
    budget = TimeBudget(10.0)
    clock.now = 104.0
    assert budget.elapsed() == 4.0 and budget.remaining() == 6.0 and not budget.expired()
    clock.now = 110.0
    assert budget.remaining() == 0.0 and budget.expired()
    clock.now = 200.0
    assert budget.remaining() == 0.0
    unlimited = TimeBudget(None)
    assert unlimited.remaining() == math.inf and not unlimited.expired()
    assert TimeBudget(0).expired()


@pytest.mark.parametrize("seconds", [-1, float("nan")])
def test_time_budget_refuses_negative_seconds(seconds):
    with pytest.raises(ValueError, match=rf"a time budget must be a number of seconds >= 0 or None; got {seconds}"):
        TimeBudget(seconds)


def test_the_budget_stops_training_mid_epoch_and_validates_that_epoch(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(tabsyn.training, "time", clock)
    model = torch.nn.Linear(1, 1)
    steps, validated = [], []

    def loss_fn(i):
        clock.now += 1.0  # every step costs a second
        steps.append(i)
        return model.weight.sum() ** 2

    def validate(m):
        validated.append(len(steps))
        return {"val_loss": 1.0}

    hist = train(model, config=TrainConfig(max_epochs=5, max_seconds=2.5, eval_every=10), batches=lambda: range(10),
                 loss_fn=loss_fn, validate=validate, verbose=False)
    assert steps == [0, 1, 2]  # the step that crossed 2.5 s is the last one
    assert len(hist.records) == 1 and hist.records[0]["seconds"] == 3.0
    assert hist.stop_reason == "time budget of 2.5 s reached"
    assert validated == [3]  # not due by eval_every, but the last epoch is always judged


def test_adam_takes_the_fused_kernel_for_float_parameters_on_the_cpu_and_the_loop_elsewhere():
    assert adam(torch.nn.Linear(3, 2).parameters(), lr=1e-3).defaults["fused"] is True
    meta = torch.nn.Linear(3, 2, device="meta")
    assert not adam(meta.parameters(), lr=1e-3).defaults["fused"]
    counts = torch.nn.Parameter(torch.zeros(2, dtype=torch.int64), requires_grad=False)
    assert not adam([counts, torch.nn.Parameter(torch.zeros(2))], lr=1e-3).defaults["fused"]


def test_the_fused_adam_takes_the_loops_steps_to_float_rounding():
    torch.manual_seed(0)
    fused_net = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    loop_net = copy.deepcopy(fused_net)
    fused = adam(fused_net.parameters(), lr=1e-2, weight_decay=1e-4)
    loop = torch.optim.Adam(loop_net.parameters(), lr=1e-2, weight_decay=1e-4, foreach=False)
    start = copy.deepcopy(fused_net)
    x, y = torch.randn(64, 5), torch.randn(64, 1)
    for _ in range(50):
        for net, opt in ((fused_net, fused), (loop_net, loop)):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
            opt.step()
    assert min((p - q).abs().max().item() for p, q in zip(fused_net.parameters(), start.parameters())) > 1e-2
    assert all(torch.allclose(p, q, atol=1e-5) for p, q in zip(fused_net.parameters(), loop_net.parameters()))
