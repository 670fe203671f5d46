"""The bare MLP denoiser: its noise-level embedding shared across the rows of a sampler's call."""

import torch

from tabsyn.diffusion.denoiser import MLPDenoiser


def test_a_shared_noise_level_is_embedded_once_and_a_row_does_not_depend_on_the_others():
    """Without gradients, a call of few distinct levels (a sampler's: one level, and the padding's) embeds
    each level alone: close to the per-row embedding, and the same bits whatever the other rows are."""
    torch.manual_seed(0)
    net = MLPDenoiser(6, width=32).eval()
    x, level = torch.randn(40, 6), torch.full((40,), 0.3)
    with torch.no_grad():
        shared = net.noise_embedding(level)
        padded = net.noise_embedding(torch.cat([level[:30], torch.full((10,), 1.0)]))
        fewer = net.noise_embedding(level[:12])
        out = net(x, level)
    with torch.enable_grad():
        per_row = net.noise_embedding(level).detach()
        out_per_row = net(x, level).detach()
    torch.testing.assert_close(shared, per_row, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out, out_per_row, rtol=1e-5, atol=1e-6)
    assert torch.equal(padded[:30], shared[:30]) and torch.equal(fewer, shared[:12])
    levels = torch.linspace(-1, 1, 40)  # many levels (training's, validation's): embedded row by row
    with torch.no_grad():
        assert torch.equal(net.noise_embedding(levels), net.time_mlp(net.noise_embed(levels)))
