"""The 2D trunk: a timm ResNet-family model built with timm's public API.

``create_trunk`` returns a timm model without classifier (``num_classes=0``), its 2D weights
already loaded, so temporal blocks are injected afterwards (see ``inject.py``) and strict
weight loading keeps working. Pretrained weights come from timm's hub (``pretrained=True``)
or from a local checkpoint file (``pretrained="/path/to/weights.pth|.safetensors"``), which
is how the tests and offline clusters load them.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Union

import timm
from torch import nn

#: Names the documentation and tests use; any timm name matching a family below also works.
KNOWN_BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "res2net50_26w_4s")
BACKBONE_FAMILIES = ("resnet*", "resnext*", "res2net*", "res2next*", "wide_resnet*")

Pretrained = Union[bool, str, os.PathLike]


def check_backbone(name: str) -> str:
    """Return ``name`` if timm knows it and it belongs to a ResNet family, else raise.

    A pretrained tag picks the weights: ``resnet50.tv_in1k`` is the torchvision V1 ImageNet
    weights every official repo used (timm's default ``resnet50`` is ``a1_in1k``).

    Raises:
        ValueError: naming the valid backbones.
    """
    base = name.split(".", 1)[0]
    family = any(fnmatch.fnmatch(base, pattern) for pattern in BACKBONE_FAMILIES)
    tagged = base == name or name in timm.list_pretrained(base + ".*")
    if not family or base not in timm.list_models() or not tagged:
        raise ValueError(
            f"unknown backbone {name!r}; valid names: {', '.join(KNOWN_BACKBONES)}, "
            f"or any timm model matching {', '.join(BACKBONE_FAMILIES)}"
        )
    return name


def create_trunk(name: str, pretrained: Pretrained = False) -> nn.Module:
    """Build a timm ResNet-family trunk with no classifier.

    Args:
        name: a timm model name (see :func:`check_backbone`).
        pretrained: ``False`` (random init), ``True`` (timm's hub) or a local weights file.

    Returns:
        The timm model; ``forward_features`` gives ``(N, C, h, w)`` and ``num_features`` is C.
    """
    check_backbone(name)
    if isinstance(pretrained, (str, os.PathLike)) and not isinstance(pretrained, bool):
        path = os.fspath(pretrained)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"pretrained weights file not found: {path}")
        return timm.create_model(
            name, pretrained=True, num_classes=0, pretrained_cfg_overlay={"file": path}
        )
    return timm.create_model(name, pretrained=bool(pretrained), num_classes=0)


def stages(trunk: nn.Module) -> list[nn.Sequential]:
    """The four residual stages res2..res5 (timm's ``layer1``..``layer4``)."""
    try:
        layers = [getattr(trunk, f"layer{i}") for i in range(1, 5)]
    except AttributeError as err:
        raise TypeError(f"{type(trunk).__name__} is not a ResNet-style trunk: {err}") from None
    # a stage already wrapped by an ``after_stage`` injection keeps its blocks in ``.stage``
    return [getattr(layer, "stage", layer) for layer in layers]
