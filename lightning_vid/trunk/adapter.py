"""The 2D trunk: the one adapter through which lightning_vid reaches timm.

Everything that knows the inside of a timm ResNet-family model is here: building it
(:func:`create_trunk`), its stem and stages (:func:`stages`, :func:`features`), the map size
each residual block sees (:func:`block_input_sizes`), the slots of a residual block that
temporal blocks are put into (:data:`SLOTS`, :func:`insert`) and the names of the wrappers
that keep the original modules' weights (:func:`canonical_key`, :func:`locate`).

``create_trunk`` returns a timm model without classifier (``num_classes=0``), its 2D weights
already loaded, so temporal blocks are injected afterwards (:mod:`lightning_vid.trunk.inject`) and strict weight
loading keeps working. Pretrained weights come from timm's hub (``pretrained=True``) or from
a local checkpoint file (``pretrained="/path/to/weights.pth|.safetensors"``), which is how the
tests and offline clusters load them. timm is imported on first use (:func:`check_backbone`,
:func:`create_trunk`): importing it loads its whole model zoo, about 1.3 s of every command's
start-up otherwise (``lightning-vid --help`` needs none of it).

Slots of a residual block (``Bottleneck``/``BasicBlock``: ``conv1 bn1 act1 conv2 ...``;
Res2Net's ``Bottle2neck``: ``conv1 bn1 convs[i] bns[i] pool conv3 ...`` with one shared ReLU).
A wrapped module becomes an ``nn.Sequential`` of ``temporal`` and the original under its
role name, so its weights keep their values and read ``conv1.conv.weight``:

=====================  ==================================  ==================================
placement              ResNet blocks                       Res2Net Bottle2neck
=====================  ==================================  ==================================
``before_conv1``       ``conv1`` -> (temporal, conv)       the same
``after_conv1``        ``act1`` -> (act, temporal)         ``bn1`` -> (bn, act, temporal);
                                                           the block's ReLU runs once more,
                                                           a no-op on the non-negative output
                                                           of ME, TAM, L-TDM
``replace_conv2``      ``conv2`` replaced                  --
``before_subconvs``    --                                  ``convs[i]`` -> (temporal, conv)
``before_passthrough`` --                                  ``pool`` -> (temporal, pool); the
                                                           last split, pooled or not
``after_stage``        ``layerN`` -> (stage, temporal)     the same
=====================  ==================================  ==================================
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Union

from torch import Tensor, nn

#: Names the documentation and tests use; any timm name matching a family below also works.
KNOWN_BACKBONES = ("resnet18", "resnet34", "resnet50", "resnet101", "res2net50_26w_4s")
BACKBONE_FAMILIES = ("resnet*", "resnext*", "res2net*", "res2next*", "wide_resnet*")
#: Where :func:`features` can fuse another branch into the trunk's maps.
FUSION_POINTS = ("stem", "layer1", "layer2", "layer3", "layer4")

Pretrained = Union[bool, str, os.PathLike]
#: ``make(channels, target)`` -> the temporal module for a slot (``target``: what it wraps).
MakeModule = Callable[[int, nn.Module], nn.Module]


def check_backbone(name: str) -> str:
    """Return ``name`` if timm knows it and it belongs to a ResNet family, else raise.

    A pretrained tag picks the weights: ``resnet50.tv_in1k`` is the torchvision V1 ImageNet
    weights every official repo used (timm's default ``resnet50`` is ``a1_in1k``).

    Raises:
        ValueError: naming the valid backbones.
    """
    import timm

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
    import timm

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
    """The four residual stages res2..res5 (timm's ``layer1``..``layer4``), unwrapped."""
    try:
        layers = [getattr(trunk, f"layer{i}") for i in range(1, 5)]
    except AttributeError as err:
        raise TypeError(f"{type(trunk).__name__} is not a ResNet-style trunk: {err}") from None
    return [getattr(layer, STAGE_ROLE, layer) for layer in layers]


def stem_conv(trunk: nn.Module) -> nn.Conv2d:
    """The stem's single 7x7 conv on RGB (``conv1``; not a deep stem)."""
    conv1 = getattr(trunk, "conv1", None)
    if not isinstance(conv1, nn.Conv2d) or conv1.in_channels != 3:
        raise TypeError(f"{type(trunk).__name__}'s stem is not a single 3-channel conv")
    return conv1


def stage_channels(stage: nn.Sequential) -> int:
    """The output channels of a stage (its last block's conv3, or conv2 for BasicBlock)."""
    last = stage[-1]
    for name in ("conv3", "conv2"):
        conv = getattr(last, name, None)
        if isinstance(conv, nn.Conv2d):
            return conv.out_channels
    raise TypeError(f"cannot tell the output channels of {type(last).__name__}")


def block_width(block: nn.Module) -> int:
    """The channels a residual block's first conv produces (its temporal modules' C)."""
    conv1 = getattr(block.conv1, "conv", block.conv1)
    return conv1.out_channels


def features(trunk: nn.Module, x: Tensor,
             fuse: Optional[Mapping[str, Callable[[Tensor], Tensor]]] = None) -> Tensor:
    """Pooled features ``(N, D)`` of frames ``(N, 3, H, W)``: timm's ``forward_features`` and
    ``forward_head(pre_logits=True)``. ``fuse`` maps points of :data:`FUSION_POINTS` to
    functions applied to the maps there (TDN's short-term branch); the stem and stages then
    run one by one, as ``forward_features`` runs them."""
    if not fuse:
        return trunk.forward_head(trunk.forward_features(x), pre_logits=True)
    unknown = set(fuse) - set(FUSION_POINTS)
    if unknown:
        raise ValueError(f"unknown fusion points {sorted(unknown)}; valid: {FUSION_POINTS}")
    h = trunk.maxpool(trunk.act1(trunk.bn1(trunk.conv1(x))))
    for point in FUSION_POINTS:
        if point != "stem":
            h = getattr(trunk, point)(h)
        if point in fuse:
            h = fuse[point](h)
    return trunk.forward_head(h, pre_logits=True)


def block_input_sizes(trunk: nn.Module, input_size: int) -> dict[nn.Module, int]:
    """The side of the map each residual block receives for ``input_size``-squared frames.

    timm's ResNet stem divides by 4 (stride-2 conv, stride-2 max-pool), then each block by its
    largest conv stride; with padding k // 2 every stride-2 conv or pool rounds up (28 for
    ``layer3.0`` at 224).
    """
    size, sizes = -(-input_size // 4), {}
    for stage in stages(trunk):
        for block in stage:
            sizes[block] = size
            stride = max(m.stride[0] for m in block.modules() if isinstance(m, nn.Conv2d))
            size = -(-size // stride)
    return sizes


def is_res2net_block(block: nn.Module) -> bool:
    """Whether ``block`` is a Res2Net ``Bottle2neck`` (hierarchical 3x3 stage in ``convs``)."""
    return isinstance(getattr(block, "convs", None), nn.ModuleList)


@dataclass(frozen=True)
class Slot:
    """A module of a residual block that a placement wraps (``role``: the name the original
    keeps inside the wrapper) or replaces (``role=None``).

    Args:
        attr: the block's attribute; ``"convs.*"`` stands for every sub-conv.
        role: the original's name in the wrapper, or None (replaced).
        first: the temporal module runs before the original (else after it).
        act: a ReLU between the original and the temporal module (Res2Net's shared ReLU).
        channels: ``"in"`` or ``"out"`` channels of the original give the module's C;
            ``"width"``: the block's split width (Res2Net).
    """

    attr: str
    role: Optional[str]
    first: bool = True
    act: bool = False
    channels: str = "out"


STAGE_ROLE = "stage"
SLOTS: dict[str, dict[str, Slot]] = {
    "resnet": {
        "before_conv1": Slot("conv1", "conv", first=True, channels="in"),
        "after_conv1": Slot("act1", "act", first=False, channels="width"),
        "replace_conv2": Slot("conv2", None),
    },
    "res2net": {
        "before_conv1": Slot("conv1", "conv", first=True, channels="in"),
        "after_conv1": Slot("bn1", "bn", first=False, act=True, channels="width"),
        "before_subconvs": Slot("convs.*", "conv", first=True, channels="in"),
        "before_passthrough": Slot("pool", "pool", first=True, channels="split"),
    },
}


#: The trunks each kind of residual block comes in: timm name patterns, a family name, an example.
KINDS = {"res2net": (("res2net*", "res2next*"), "Res2Net", "res2net50_26w_4s"),
         "resnet": (("resnet*", "resnext*", "wide_resnet*"), "ResNet", "resnet50")}
#: Placements every residual block has (``after_stage`` wraps a stage, ``block`` replaces one).
EVERY_KIND = ("after_stage", "block")


def kind_of(backbone: str) -> str:
    """``"res2net"`` or ``"resnet"``: the kind of residual block a timm name builds, by name."""
    base = backbone.split(".", 1)[0]
    return "res2net" if any(fnmatch.fnmatch(base, p) for p in KINDS["res2net"][0]) else "resnet"


def check_placement(backbone: str, placement: str, who: str) -> None:
    """Raise a ValueError naming ``who``, ``backbone`` and a trunk that has ``placement``
    when the blocks of ``backbone`` do not have it (:data:`SLOTS`); read from the name alone,
    before any weight is built.

    >>> check_placement("resnet18", "before_subconvs", "tea")
    Traceback (most recent call last):
    ...
    ValueError: tea cannot be built on backbone 'resnet18': its placement 'before_subconvs' exists only in a Res2Net trunk (res2net*, res2next*); use backbone='res2net50_26w_4s'
    """
    kind = kind_of(backbone)
    if placement in EVERY_KIND or placement in SLOTS[kind]:
        return
    other = next(k for k in SLOTS if placement in SLOTS[k])
    patterns, family, example = KINDS[other]
    raise ValueError(f"{who} cannot be built on backbone {backbone!r}: its placement "
                     f"{placement!r} exists only in a {family} trunk ({', '.join(patterns)}); "
                     f"use backbone={example!r}")


def _channels(block: nn.Module, slot: Slot, target: Optional[nn.Module]) -> int:
    if slot.channels == "width":
        return block_width(block)
    if slot.channels == "split":
        return block.width
    return target.in_channels if slot.channels == "in" else target.out_channels


def insert(block: nn.Module, placement: str, make: MakeModule) -> list[str]:
    """Put ``make(channels, target)`` into ``block`` at ``placement`` (see the module
    docstring), in place; returns the attribute names it wrapped or replaced.

    Raises:
        ValueError: for a placement this kind of block does not have.
    """
    kind = "res2net" if is_res2net_block(block) else "resnet"
    slot = SLOTS[kind].get(placement)
    if slot is None:
        raise ValueError(f"placement {placement!r} does not exist in a {kind} block "
                         f"({type(block).__name__}); it has {', '.join(SLOTS[kind])}")
    if slot.attr == "convs.*":
        owner, names = block.convs, [str(i) for i in range(len(block.convs))]
    else:
        owner, names = block, [slot.attr]
    for name in names:
        target = getattr(owner, name)
        module = make(_channels(block, slot, target), target)
        if slot.role is None:
            setattr(owner, name, module)
            continue
        original = target if target is not None else nn.Identity()
        parts = [(slot.role, original)]
        if slot.act:
            parts.append(("act", nn.ReLU(inplace=True)))
        parts.insert(0 if slot.first else len(parts), ("temporal", module))
        setattr(owner, name, nn.Sequential(OrderedDict(parts)))
    return [slot.attr.replace("*", n) for n in names] if slot.attr == "convs.*" else names


def wrap_stage(trunk: nn.Module, stage: int, make: MakeModule) -> str:
    """``layerN`` -> ``Sequential(stage=layerN, temporal=make(C_out, layerN))``."""
    layer = stages(trunk)[stage - 1]
    module = make(stage_channels(layer), layer)
    setattr(trunk, f"layer{stage}", nn.Sequential(OrderedDict([(STAGE_ROLE, layer),
                                                               ("temporal", module)])))
    return f"layer{stage}"


def _wrapper_patterns() -> list[tuple[re.Pattern, str]]:
    attrs = {(s.attr.replace(".*", r"\.\d+"), s.role) for kind in SLOTS.values()
             for s in kind.values() if s.role is not None}
    attrs.add((r"layer\d+", STAGE_ROLE))
    return [(re.compile(rf"(^|\.)({attr})\.{role}\."), r"\1\2.") for attr, role in sorted(attrs)]


_WRAPPERS = _wrapper_patterns()


def canonical_key(key: str) -> str:
    """A state-dict ``key`` without the wrappers' extra names: the plain 2D trunk's key.

    >>> canonical_key("trunk.layer3.0.conv1.conv.weight")
    'trunk.layer3.0.conv1.weight'
    >>> canonical_key("trunk.layer2.stage.1.convs.0.conv.weight")
    'trunk.layer2.1.convs.0.weight'
    """
    for pattern, repl in _WRAPPERS:
        key = pattern.sub(repl, key)
    return key


def locate(name: str) -> tuple[Optional[int], Optional[int]]:
    """``(stage, block)`` of a dotted module name: stage 1..4 for timm's ``layer1``..``layer4``
    (res2..res5), block the index in the stage (None after a stage or outside one).

    >>> locate("trunk.layer3.0.conv1.temporal"), locate("trunk.layer2.temporal")
    ((3, 0), (2, None))
    """
    found = re.search(rf"layer(\d+)(?:\.(?:{STAGE_ROLE}\.)?(\d+))?", name)
    if not found:
        return None, None
    return int(found.group(1)), None if found.group(2) is None else int(found.group(2))
