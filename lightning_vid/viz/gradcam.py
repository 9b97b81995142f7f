"""Grad-CAM on whole clips with pytorch-grad-cam (the ``gradcam`` extra).

The clip goes through the model folded, ``(B, T*L, C, H, W)`` as the model takes it, so the
temporal modules see the full context of each video; the target layer's activations are
``(B*T, C', h, w)``, one map per frame. As in Grad-CAM, each frame's channel weights are its
own gradients averaged over ``h x w``; the CAM is ``ReLU(sum_c w_c A_c)`` upsampled to the
frame. Unlike pytorch-grad-cam's default, which rescales every image to [0, 1] on its own,
the maps are scaled once per video (by the clip's maximum), so one sees which frames matter;
``shares`` says how much of the clip's CAM mass each frame holds.

Works inside Lightning's validation (inference mode): gradients are switched on locally on a
copy of the clip, parameters are frozen for the pass (their ``.grad`` and ``requires_grad``
are restored), the model's train/eval state is restored and the hooks are removed.

>>> from lightning_vid.models import build_model
>>> model = build_model("tsm", 4, num_segments=4, backbone="resnet18")
>>> with torch.inference_mode():
...     out = clip_gradcam(model, torch.randn(2, 4, 3, 32, 32))
>>> out.cam.shape, out.shares.shape, bool(out.cam.max() <= 1), model.training
(torch.Size([2, 4, 32, 32]), torch.Size([2, 4]), True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lightning_vid.viz._optional import require_gradcam


def find_layer(model: nn.Module, name: Optional[str] = None) -> tuple[str, nn.Module]:
    """The target layer by dotted name inside ``model`` (a ``model.`` prefix, as in the
    system's names, is accepted); default the last stage, ``trunk.layer4``.

    Raises:
        ValueError: naming the top-level children when the name does not resolve.
    """
    modules = dict(model.named_modules())
    if name is None:
        name = next((n for n in ("trunk.layer4", "model.trunk.layer4", "layer4") if n in modules),
                    None)
    candidates = [name, name[len("model."):]] if name and name.startswith("model.") else [name]
    for candidate in candidates:
        if candidate in modules:
            return candidate, modules[candidate]
    children = ", ".join(n for n, _ in model.named_children())
    raise ValueError(f"no layer {name!r} in {type(model).__name__}; give a dotted name under: "
                     f"{children} (e.g. trunk.layer4)")


@dataclass
class ClipCAM:
    """Grad-CAM of a batch of clips.

    Attributes:
        cam: ``(B, T, H, W)`` in [0, 1], scaled per video.
        shares: ``(B, T)``, each frame's share of its clip's CAM mass.
        logits: ``(B, K)`` of the forward pass.
        targets: ``(B,)`` the explained class of each clip.
    """

    cam: Tensor
    shares: Tensor
    logits: Tensor
    targets: Tensor


def _raw_gradcam_class():
    pgc = require_gradcam()

    class RawGradCAM(pgc.GradCAM):
        """GradCAM without pytorch-grad-cam's per-image rescaling (we scale per video)."""

        def compute_cam_per_layer(self, input_tensor, targets, eigen_smooth):
            activations = [a.cpu().data.numpy() for a in self.activations_and_grads.activations]
            grads = [g.cpu().data.numpy() for g in self.activations_and_grads.gradients]
            size = tuple(input_tensor.shape[-2:])
            cams = []
            for layer, acts, grad in zip(self.target_layers, activations, grads):
                cam = np.maximum(self.get_cam_image(input_tensor, layer, targets, acts, grad,
                                                    eigen_smooth), 0)  # (B*T, h, w)
                cam = F.interpolate(torch.from_numpy(cam)[:, None].float(), size=size,
                                    mode="bilinear", align_corners=False)[:, 0]
                cams.append(cam.numpy()[:, None])
            return cams

        def aggregate_multi_layers(self, cam_per_target_layer):
            return np.maximum(np.concatenate(cam_per_target_layer, axis=1), 0).mean(axis=1)

    return RawGradCAM


def clip_gradcam(model: nn.Module, clip: Tensor, target_layer: Optional[str] = None,
                 targets: Optional[Sequence[int]] = None) -> ClipCAM:
    """Grad-CAM of ``clip`` ``(B, T*L, C, H, W)`` for ``targets`` (default: the predicted
    classes) at ``target_layer`` (dotted name, default the last stage); see the module doc."""
    pgc_targets = require_gradcam().utils.model_targets
    _, layer = find_layer(model, target_layer)
    params = list(model.parameters())
    saved = [(p.requires_grad, p.grad) for p in params]
    was_training = model.training
    try:
        with torch.inference_mode(False), torch.enable_grad():
            x = clip.detach().clone().to(params[0].device, params[0].dtype).requires_grad_(True)
            for p in params:
                p.requires_grad_(False)
            with _raw_gradcam_class()(model, [layer]) as cam:  # puts the model in eval mode
                wanted = None if targets is None else [
                    pgc_targets.ClassifierOutputTarget(int(c)) for c in targets]
                raw = torch.from_numpy(cam(x, wanted))  # (B*T, H, W); None: the predictions
                logits = cam.outputs.detach().float().cpu()
    finally:
        for p, (flag, grad) in zip(params, saved):
            p.requires_grad_(flag)
            p.grad = grad
        model.train(was_training)
    maps = raw.view(len(clip), -1, *raw.shape[-2:])  # (B, T, H, W)
    mass = maps.sum((2, 3))  # (B, T)
    peak = maps.amax((1, 2, 3), keepdim=True).clamp_min(1e-12)
    chosen = logits.argmax(-1) if targets is None else torch.as_tensor(list(targets))
    return ClipCAM(maps / peak, mass / mass.sum(1, keepdim=True).clamp_min(1e-12), logits, chosen)
