"""The VAE's loss terms and its beta schedule, on values worked out by hand."""

import math

import pytest
import torch

from tabsyn.tabular.vae import TabularVAE, TransformerBlock, VAEConfig, kl_divergence, reconstruction, vae_loss
from tabsyn.tabular.vae_training import MAX_BETA, MIN_BETA, BetaSchedule, validation_metrics


def test_reconstruction_terms_match_the_formulas():
    x_num = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    recon_num = torch.tensor([[1.0, 1.0], [2.0, 1.0]])  # squared errors 1, 0, 0, 4 -> mean 1.25
    x_cat = torch.tensor([[0, 1], [1, 1]])
    logits = [torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([[0.0, 0.0, 5.0], [0.0, 3.0, 0.0]])]
    t = reconstruction(recon_num, logits, x_num, x_cat)
    ce0 = -math.log(math.exp(2) / (math.exp(2) + 1))                     # both rows right, same margin
    ce1 = (-math.log(1 / (2 + math.exp(5))) - math.log(math.exp(3) / (2 + math.exp(3)))) / 2
    assert t["mse"].item() == pytest.approx(1.25)
    assert t["ce"].item() == pytest.approx((ce0 + ce1) / 2, rel=1e-6)
    assert t["acc"].item() == pytest.approx((1.0 + 0.5) / 2)           # column 1: first row wrong
    assert t["recon"].item() == pytest.approx(1.25 + (ce0 + ce1) / 2, rel=1e-6)


def test_reconstruction_without_categories_or_numbers():
    t = reconstruction(torch.zeros(3, 1), [], torch.ones(3, 1), torch.zeros(3, 0, dtype=torch.long))
    assert t["ce"].item() == 0 and t["acc"].item() == 1 and t["recon"].item() == pytest.approx(1.0)
    t = reconstruction(torch.zeros(2, 0), [torch.tensor([[0.0, 9.0], [9.0, 0.0]])], torch.zeros(2, 0),
                       torch.tensor([[1], [0]]))
    assert t["mse"].item() == 0 and t["acc"].item() == 1


def test_kl_is_zero_at_the_prior_and_half_the_mean_square_of_mu_at_unit_variance():
    mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
    assert kl_divergence(mu, logvar).item() == 0
    mu = torch.full((4, 3), 2.0)
    assert kl_divergence(mu, logvar).item() == pytest.approx(0.5 * 4.0)
    # KL(N(0, s^2) || N(0, 1)) = (s^2 - 1 - ln s^2) / 2 per dimension
    logvar = torch.full((4, 3), math.log(0.25))
    assert kl_divergence(torch.zeros(4, 3), logvar).item() == pytest.approx((0.25 - 1 - math.log(0.25)) / 2)


def test_vae_loss_is_reconstruction_through_a_sampled_latent_plus_kl():
    torch.manual_seed(0)
    vae = TabularVAE(VAEConfig(n_num=2, cat_sizes=[3], d_token=4, ffn_factor=2))
    x_num, x_cat = torch.randn(16, 2), torch.randint(0, 3, (16, 1))
    recon, kl, acc = vae_loss(vae, x_num, x_cat)
    assert recon.requires_grad and kl.item() > 0 and 0 <= acc.item() <= 1
    with torch.no_grad():
        mu, logvar = vae.encode(x_num, x_cat)
    assert kl.item() == pytest.approx(kl_divergence(mu, logvar).item(), rel=1e-5)
    metrics = validation_metrics(vae, x_num, x_cat)  # from mu, no sampling: deterministic
    assert metrics == validation_metrics(vae, x_num, x_cat)
    assert metrics["val_recon"] == pytest.approx(metrics["val_mse"] + metrics["val_ce"], rel=1e-6)


def test_beta_decays_after_patience_epochs_without_improvement_and_stops_at_its_floor():
    beta = BetaSchedule(patience=2)
    assert beta.value == MAX_BETA
    assert beta.update(1.0) == MAX_BETA      # improvement
    assert beta.update(1.5) == MAX_BETA      # 1 bad epoch
    assert beta.update(0.9) == MAX_BETA      # improvement resets the count
    assert beta.update(0.9) == MAX_BETA      # equal is not better: 1 bad
    assert beta.update(2.0) == pytest.approx(MAX_BETA * 0.7)  # 2 bad: decay, count restarts
    assert beta.update(2.0) == pytest.approx(MAX_BETA * 0.7)
    for _ in range(200):
        beta.update(5.0)
    assert beta.value == MIN_BETA


def test_latents_and_validation_in_blocks_match_one_call():
    """Whole tables go through the VAE a block of rows at a time (bounded memory), with the one-call result."""
    torch.manual_seed(0)
    vae = TabularVAE(VAEConfig(n_num=2, cat_sizes=[3, 2], d_token=4, ffn_factor=2)).eval()
    x_num, x_cat = torch.randn(37, 2), torch.stack([torch.randint(0, 3, (37,)), torch.randint(0, 2, (37,))], 1)
    with torch.no_grad():
        mu, _ = vae.encode(x_num, x_cat)
    whole = mu[:, 1:].flatten(1)
    torch.testing.assert_close(vae.latents(x_num, x_cat, block=5), whole, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(vae.latents(x_num, x_cat), whole, rtol=1e-5, atol=1e-6)
    assert vae.latents(x_num[:0], x_cat[:0]).shape == (0, 16)
    blocked, once = validation_metrics(vae, x_num, x_cat, block=5), validation_metrics(vae, x_num, x_cat, block=64)
    assert blocked.keys() == once.keys()
    for key in once:
        assert blocked[key] == pytest.approx(once[key], rel=1e-5)


@pytest.mark.parametrize("tokens", [5, 40])
def test_attention_is_algebra_for_short_rows_and_the_fused_kernel_for_long_ones(tokens):
    torch.manual_seed(0)
    block = TransformerBlock(4, n_heads=2, ffn_factor=4).eval()  # the algebra up to 16 tokens a row
    x = torch.randn(8, tokens, 4)
    h = block.norm1(x)
    fused, algebra = block.attn(h, h, h, need_weights=False)[0], block._attention(h)
    torch.testing.assert_close(algebra, fused, rtol=1e-5, atol=1e-6)  # the same attention either way

    def through(attention):
        y = x + attention
        return y + block.ffn(block.norm2(y))

    assert torch.equal(block(x), through(algebra if tokens <= 16 else fused))
    block.attention = "algebra"  # a DP fit's: the algebra whatever the row's length
    assert torch.equal(block(x), through(algebra))
    block.attention = "fused"
    assert torch.equal(block(x), through(fused))
