"""The U-Net: shapes at odd and even sizes, conditioning, the null class, attention placement."""

import pytest
import torch

from tabsyn.diffusion.embedding import SinusoidalEmbedding
from tabsyn.image.unet import AttentionBlock, UNet

from ._helpers import randomise


@pytest.mark.parametrize("size, channels", [((8, 8), 1), ((28, 28), 1), ((32, 32), 3), ((12, 20), 1)])
def test_output_has_the_input_shape(size, channels):
    net = UNet(in_channels=channels, base_channels=8, channel_mults=(1, 2, 2), num_classes=3, image_size=size)
    x = torch.randn(2, channels, *size)
    out = net(x, torch.tensor([0, 7]), torch.tensor([1, 3]))
    assert out.shape == x.shape


def test_network_starts_by_predicting_zero_noise():
    net = UNet(base_channels=8, channel_mults=(1, 2), image_size=(8, 8))
    assert torch.all(net(torch.randn(2, 1, 8, 8), torch.tensor([3, 4])) == 0)


def test_time_and_class_change_the_output_and_none_is_the_null_class():
    net = randomise(UNet(base_channels=8, channel_mults=(1, 2), num_classes=4, image_size=(8, 8))).eval()
    x = torch.randn(2, 1, 8, 8)
    t = torch.tensor([5, 5])
    out = net(x, t, torch.tensor([0, 0]))
    assert not torch.allclose(out, net(x, t, torch.tensor([1, 1])))
    assert not torch.allclose(out, net(x, torch.tensor([50, 50]), torch.tensor([0, 0])))
    assert torch.equal(net(x, t, None), net(x, t, torch.tensor([4, 4])))


def test_attention_sits_at_the_requested_resolutions():
    def count(res):
        net = UNet(base_channels=8, channel_mults=(1, 2, 2), num_res_blocks=1, attention_resolutions=res,
                   image_size=(28, 28))
        return sum(isinstance(m, AttentionBlock) for m in net.modules())

    # Middle block only; then 28 -> 14 -> 7: one block down and two up per chosen level.
    assert count(()) == 1
    assert count((7,)) == 1 + 3
    assert count((7, 14)) == 1 + 6


def test_time_embedding_is_the_shared_sinusoid_and_not_stored():
    net = UNet(base_channels=8, channel_mults=(1, 2), image_size=(8, 8))
    assert isinstance(net.time_embed, SinusoidalEmbedding) and net.time_embed.dim == 8
    assert not any("time_embed" in k for k in net.state_dict())  # model files hold weights only


def test_gradients_reach_every_parameter():
    net = randomise(UNet(base_channels=8, channel_mults=(1, 2), num_classes=2, image_size=(8, 8)))
    loss = net(torch.randn(3, 1, 8, 8), torch.tensor([1, 2, 3]), torch.tensor([0, 1, 2])).pow(2).mean()
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert missing == []
