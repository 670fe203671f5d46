import pytest
import torch

from tabsyn.training import EMA, TrainConfig, TrainingDivergedError, train


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
    hist = train(model, config=TrainConfig(max_epochs=1, lr=1.0, warmup_steps=10),
                    batches=lambda: [0], loss_fn=lambda _: -model.weight.sum(), verbose=False)
    assert model.weight.item() == pytest.approx(0.1, rel=1e-3)
