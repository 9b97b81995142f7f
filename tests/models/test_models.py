"""The DESIGN.md model contract, for every registered architecture."""

import pytest
import torch

from lightning_vid.models import build_model, list_models

T = 4


def _clip(model, batch=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = model.num_segments * model.frames_per_segment
    return torch.randn(batch, n, 3, size, size, generator=g)


@pytest.fixture(scope="module", params=list_models())
def tiny(request):
    torch.manual_seed(0)
    return build_model(request.param, num_classes=6, num_segments=T, backbone="resnet18",
                       input_size=32).eval()


def test_registry_has_the_baselines():
    assert {"tsn", "tsm"} <= set(list_models())


@pytest.mark.parametrize("arch", list_models())
@pytest.mark.parametrize("backbone,size", [("resnet18", 64), ("resnet50", 32)])
def test_shapes_and_attributes(arch, backbone, size):
    model = build_model(arch, num_classes=7, num_segments=T, backbone=backbone, input_size=size)
    assert model.num_segments == T and model.frames_per_segment >= 1
    out = model(_clip(model, size=size))
    assert out.shape == (2, 7) and out.dtype == torch.float32


def test_batch_independence(tiny):
    """In eval mode a sample's output does not depend on the other samples of the batch."""
    x = _clip(tiny, batch=3)
    with torch.no_grad():
        full = tiny(x)
        x2 = x.clone()
        x2[1:] = torch.randn_like(x2[1:]) * 5
        alone = tiny(x2)
        single = tiny(x[:1])
    torch.testing.assert_close(full[0], alone[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(full[:1], single, rtol=1e-4, atol=1e-5)


def test_wrong_clip_length_names_expected(tiny):
    n = tiny.num_segments * tiny.frames_per_segment
    with pytest.raises(ValueError, match=f"T\\*L = .*{n}"):
        tiny(torch.randn(1, n + 1, 3, 32, 32))


def test_gradients_reach_every_parameter(tiny):
    tiny.train()
    tiny.zero_grad()
    tiny(_clip(tiny)).square().sum().backward()
    missing = [n for n, p in tiny.named_parameters() if p.requires_grad and p.grad is None]
    tiny.eval()
    assert not missing, f"parameters without gradient: {missing[:5]}"


def test_unknown_names_list_valid_ones():
    with pytest.raises(ValueError, match="valid names: .*tsm"):
        build_model("tsx", num_classes=3)
    with pytest.raises(ValueError, match="resnet50"):
        build_model("tsm", num_classes=3, backbone="vit_base_patch16_224")
