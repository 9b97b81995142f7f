"""Grad-CAM on folded clips: the values, the per-video scale, and a clean exit."""

import pytest
import torch
import torch.nn.functional as F

from lightning_vid.models import build_model
from lightning_vid.viz.gradcam import clip_gradcam, find_layer

T = 4


def _manual_gradcam(model, clip, layer, targets):
    """Grad-CAM by hand: per-frame channel weights = spatial mean of the gradient."""
    saved = {}
    handle = layer.register_forward_hook(lambda m, i, o: saved.update(a=o))
    model.eval()
    logits = model(clip)
    handle.remove()
    grads = torch.autograd.grad(logits[torch.arange(len(clip)), targets].sum(), saved["a"])[0]
    cam = F.relu((grads.mean((2, 3), keepdim=True) * saved["a"]).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=clip.shape[-2:], mode="bilinear", align_corners=False)
    return cam.view(len(clip), -1, *clip.shape[-2:]).detach()  # (B, T, H, W)


def test_matches_a_hand_written_gradcam_scaled_once_per_video():
    model = build_model("tsm", 5, num_segments=T, backbone="resnet18")
    clip = torch.randn(2, T, 3, 64, 64)
    name, layer = find_layer(model, "trunk.layer3")
    out = clip_gradcam(model, clip, name, targets=[1, 3])
    raw = _manual_gradcam(model, clip, layer, torch.tensor([1, 3]))
    expected = raw / raw.amax((1, 2, 3), keepdim=True)
    assert torch.allclose(out.cam, expected, atol=1e-5)
    assert out.targets.tolist() == [1, 3]
    peaks = out.cam.amax((2, 3))  # (B, T): one frame reaches 1, the others keep their level
    assert torch.allclose(peaks.amax(1), torch.ones(2)) and (peaks < 0.999).any()
    assert torch.allclose(out.shares, raw.sum((2, 3)) / raw.sum((1, 2, 3))[:, None], atol=1e-5)
    assert torch.allclose(out.logits, model.eval()(clip), atol=1e-5)


@pytest.mark.parametrize("arch", ["tdn", "tam"])
def test_runs_in_inference_mode_and_restores_everything(arch):
    """Inside Lightning's evaluation (inference mode), on a training-mode model with pending
    gradients: the model comes back in train mode, gradients, requires_grad and hooks as they
    were. TDN's L = 5 frames per segment give one map per segment."""
    model = build_model(arch, 5, num_segments=T, backbone="resnet18")
    params = list(model.parameters())
    params[0].requires_grad_(False)
    for p in params[1:]:
        p.grad = torch.full_like(p, 0.25)
    clip = torch.randn(2, T * model.frames_per_segment, 3, 32, 32)
    with torch.inference_mode():
        out = clip_gradcam(model, clip)  # the predicted classes, the last stage
        assert torch.is_inference_mode_enabled()
    assert out.cam.shape == (2, T, 32, 32) and out.shares.shape == (2, T)
    assert torch.equal(out.targets, out.logits.argmax(-1))
    assert model.training and not params[0].requires_grad and params[0].grad is None
    assert all(p.requires_grad and torch.all(p.grad == 0.25) for p in params[1:])
    assert not any(m._forward_hooks or m._backward_hooks for m in model.modules())


def test_unknown_layer_names_the_choices():
    model = build_model("tsn", 5, num_segments=T, backbone="resnet18")
    assert find_layer(model)[0] == "trunk.layer4"
    assert find_layer(model, "model.trunk.layer2")[0] == "trunk.layer2"  # the system's names
    with pytest.raises(ValueError, match="trunk, dropout, fc"):
        find_layer(model, "trunk.layer9")


@pytest.mark.parametrize("module", ["pytorch_grad_cam", "matplotlib"])
def test_a_missing_extra_is_named(module, monkeypatch):
    import sys

    from lightning_vid.callbacks import GradCAMLogger

    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'lightning_vid\[viz\]'"):
        GradCAMLogger()
