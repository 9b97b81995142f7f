"""The interpretable tensors of temporal blocks: collect them, and put them in plot layouts.

Every temporal block with something to show has ``record: bool`` (default False) and, after a
forward pass with ``record=True``, ``last_outputs: dict[str, Tensor]`` of detached tensors
(``lightning_vid.blocks.ops.Recorder``). :func:`collect_interpretables` finds blocks by those
two attributes only, so a new block is shown without new code here.

:func:`to_views` puts each tensor in one of four layouts (letters of DESIGN.md; B clips,
T segments, C channels, h x w the block's feature map). A block that declares the layout of
a key (``Recorder.layouts``, e.g. ``{"kernel": "B C K"}``) is read as declared; otherwise the
layout is guessed from the key and the tensor's rank as below:

===========  =====================  =========================================================
kind         layout                 made from
===========  =====================  =========================================================
``kernel``   ``(B, C, K)``          a key containing ``kernel``, 3-D: TAM's Theta, a K-tap
                                    temporal kernel per channel (TAM appendix A.4)
``channel``  ``(B, T, C)``          per-channel values per frame: TAM's V (``importance``,
                                    ``(B, C, T)``), TEA's A ``(B, T, C)``, TCM's attention
                                    ``(B*T, C)``, maps of 1 x 1 (but see below)
``spatial``  ``(B, T, h, w)``       the channel mean of ``|x|`` of any ``(B*T, C, h, w)`` or
                                    ``(B, T, C, h, w)`` map: TRM's R (TRM Figs. 4-5 average
                                    ``|R|`` over channels), TDN's attention; maps of 2 to 4
                                    channels one view per channel (TCM's confidence, fast
                                    and slow, keys ``confidence 0`` and ``confidence 1``)
``flow``     ``(B, T, F, 2, h, w)`` a key containing ``displacement`` or ``flow``, 4-D with 2F
                                    channels: F fields (u, v), TCM's fast then slow
===========  =====================  =========================================================

When guessing, a block and key whose maps are larger than 1 x 1 anywhere in the network are
spatial everywhere (small inputs shrink res5 to 1 x 1). A tensor that fits none of the layouts
is skipped with a warning naming the block and the key.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal, Optional, Sequence

import torch
from torch import Tensor, nn

from lightning_vid.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from lightning_vid.trunk.adapter import locate

Kind = Literal["kernel", "channel", "spatial", "flow"]
KINDS: tuple[str, ...] = ("kernel", "channel", "spatial", "flow")


def recording_modules(model: nn.Module) -> dict[str, nn.Module]:
    """The modules of ``model`` with ``record`` and ``last_outputs`` attributes, by dotted name."""
    return {name: m for name, m in model.named_modules()
            if hasattr(m, "record") and hasattr(m, "last_outputs")}


def record_forward(model: nn.Module, clip: Tensor) -> tuple[dict[str, dict[str, Tensor]], Tensor]:
    """One eval forward pass with recording on: ``(interpretables, logits)``.

    Recording and the train/eval state are restored afterwards, ``last_outputs`` emptied.
    ``clip`` is ``(B, T*L, C, H, W)``, moved to the model's device and dtype.
    """
    modules = recording_modules(model)
    was_training, recording = model.training, {n: m.record for n, m in modules.items()}
    param = next(model.parameters(), None)
    if param is not None:
        clip = clip.to(param.device, param.dtype)
    try:
        model.eval()
        for m in modules.values():
            m.record, m.last_outputs = True, {}
        with torch.no_grad():
            logits = model(clip)
        outputs = {n: dict(m.last_outputs) for n, m in modules.items() if m.last_outputs}
    finally:
        for n, m in modules.items():
            m.record, m.last_outputs = recording[n], {}
        model.train(was_training)
    return outputs, logits


def collect_interpretables(model: nn.Module, clip: Tensor) -> dict[str, dict[str, Tensor]]:
    """``{module name: {key: tensor}}`` of every recording block for one forward pass of
    ``clip`` ``(B, T*L, C, H, W)`` in eval mode; the model's state is left as it was.

    >>> from lightning_vid.models import build_model
    >>> model = build_model("tam", 4, num_segments=4, backbone="resnet18")
    >>> out = collect_interpretables(model, torch.randn(2, 4, 3, 32, 32))
    >>> name = "trunk.layer1.0.act1.temporal"
    >>> out[name]["kernel"].shape, model.training
    (torch.Size([2, 64, 3]), True)
    """
    return record_forward(model, clip)[0]


@dataclass
class View:
    """One recorded tensor in a plot layout (see the module docstring).

    Args:
        module: the block's dotted name inside the video model (``trunk.layer3.0.conv1.temporal``).
        block: the block's class name.
        key: the ``last_outputs`` key.
        kind: the layout.
        data: float32 tensor on the CPU in that layout.
        quantity: what a value is, for colour bars (``mean |x| over channels``).
    """

    module: str
    block: str
    key: str
    kind: Kind
    data: Tensor
    quantity: str = "value"

    @property
    def stage(self) -> Optional[int]:
        """1..4 for timm's ``layer1``..``layer4`` (res2..res5), None when not in a stage."""
        return locate(self.module)[0]

    @property
    def where(self) -> str:
        """``res4 block 0`` (timm's ``layer3.0``), ``res4 (after stage)``, else the name."""
        stage, index = locate(self.module)
        if stage is None:
            return self.module
        return f"res{stage + 1}" + (" (after stage)" if index is None else f" block {index}")

    @property
    def label(self) -> str:
        """One-line caption: ``res4 block 0 TemporalRelocation relocation``."""
        return f"{self.where} {self.block} {self.key}"


def short_name(name: str) -> str:
    """Drop the system's ``model.`` prefix: names read as inside the video model."""
    return name[len("model."):] if name.startswith("model.") else name


def _maps(key: str, maps: Tensor) -> list[tuple[str, Kind, Tensor, str]]:
    """``(B, T, C, h, w)`` maps as spatial views: one per channel for 2 to 4 channels (TCM's
    confidences), else the channel mean of ``|x|``."""
    maps = maps.abs()
    if 2 <= maps.shape[2] <= 4:
        return [(f"{key} {i}", "spatial", maps[:, :, i], "|x|") for i in range(maps.shape[2])]
    return [(key, "spatial", maps.mean(2), "mean |x| over channels")]  # (B, T, h, w)


def _declared(key: str, layout: str, x: Tensor, batch: int
              ) -> list[tuple[str, Kind, Tensor, str]]:
    """A tensor in the layout its block declares (``Recorder.layouts``)."""
    x = x.detach().float().cpu()
    letters = layout.replace("(B T)", "N").replace("(F 2)", "F").split()
    if letters[0] == "N":  # (B*T, ...) -> (B, T, ...)
        x = x.reshape(batch, x.shape[0] // batch, *x.shape[1:])
        letters = ["B", "T", *letters[1:]]
    order = "".join(letters)
    if order == "BCK":
        return [(key, "kernel", x, "kernel weight")]
    if order in ("BCT", "BTC", "BTC11"):
        x = x.transpose(1, 2) if order == "BCT" else x.flatten(2)
        return [(key, "channel", x, "value")]  # (B, T, C)
    if order == "BTFhw":
        b, t, f, h, w = x.shape
        return [(key, "flow", x.reshape(b, t, f // 2, 2, h, w), "displacement")]
    if order == "BTChw":
        return _maps(key, x)
    raise ValueError(f"unknown layout {layout!r} declared for {key!r}")


def _layout(key: str, x: Tensor, batch: int, num_segments: int,
            spatial: bool = False) -> list[tuple[str, Kind, Tensor, str]]:
    """``(key, kind, tensor in that layout, quantity)`` for one recorded tensor; empty when nothing
    fits. A 1 x 1 map is per-channel unless ``spatial`` (the same block and key have larger
    maps elsewhere); maps of 2 to 4 channels (TCM's confidences) give one view per channel."""
    x = x.detach().float().cpu()
    if x.dim() == 3 and "kernel" in key:
        return [(key, "kernel", x, "kernel weight")]  # (B, C, K)
    if x.dim() == 4 and ("displacement" in key or "flow" in key) and x.shape[1] % 2 == 0:
        n, c, h, w = x.shape
        flow = x.reshape(batch, n // batch, c // 2, 2, h, w)  # (B, T, F, 2, h, w)
        return [(key, "flow", flow, "displacement")]
    if x.dim() == 5 and x.shape[0] == batch:
        x = x.flatten(0, 1)  # (B, T, C, h, w) -> (B*T, C, h, w)
    if x.dim() == 4 and x.shape[0] % batch == 0:
        n, c, h, w = x.shape
        if h * w == 1 and not spatial:
            return [(key, "channel", x.reshape(batch, n // batch, c), "value")]  # (B, T, C)
        return _maps(key, x.view(batch, n // batch, c, h, w))  # (B, T, C, h, w)
    if x.dim() == 2 and x.shape[0] % batch == 0:
        return [(key, "channel", x.reshape(batch, x.shape[0] // batch, -1), "value")]  # (B, T, C)
    if x.dim() == 3 and x.shape[0] == batch:
        if key == "importance" or (x.shape[2] == num_segments and x.shape[1] != num_segments):
            return [(key, "channel", x.transpose(1, 2), "value")]  # (B, C, T) -> (B, T, C)
        if x.shape[1] == num_segments:
            return [(key, "channel", x, "value")]  # (B, T, C)
    return []


def to_views(
    outputs: dict[str, dict[str, Tensor]],
    model: nn.Module,
    batch: int,
    num_segments: Optional[int] = None,
) -> list[View]:
    """Every recorded tensor of :func:`collect_interpretables` as a :class:`View`.

    Args:
        outputs: ``{module name: {key: tensor}}``.
        model: the model they came from (for class names and ``num_segments``).
        batch: B, the number of clips of the forward pass.
        num_segments: T; defaults to the model's ``num_segments``.
    """
    t = num_segments or getattr(model, "num_segments", 0)
    modules = dict(model.named_modules())
    blocks = {name: type(modules[name]).__name__ if name in modules else name for name in outputs}
    # a (block, key) with maps larger than 1 x 1 anywhere is spatial everywhere (small inputs)
    spatial = {(blocks[n], k) for n, ts in outputs.items() for k, x in ts.items()
               if x.dim() >= 4 and x.shape[-1] * x.shape[-2] > 1}
    views = []
    for name, tensors in outputs.items():
        block = blocks[name]
        declared = getattr(modules.get(name), "layouts", {})
        for key, value in tensors.items():
            if key in declared:
                laid = _declared(key, declared[key], value, batch)
            else:
                laid = _layout(key, value, batch, t, (block, key) in spatial)
            if not laid:
                warnings.warn(f"{name} ({block}) recorded {key!r} of shape {tuple(value.shape)}, "
                              "which fits no plot layout; skipped", stacklevel=2)
            views += [View(short_name(name), block, k, kind, data, quantity)
                      for k, kind, data, quantity in laid]
    return views


def display_frames(
    clip: Tensor,
    frames_per_segment: int = 1,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Tensor:
    """The frames a person looks at: ``(B, T*L, C, H, W)`` normalised -> ``(B, T, H, W, 3)``
    in [0, 1], de-normalised, the centre frame of each segment (L > 1: TDN)."""
    lps = frames_per_segment
    x = clip.detach().float().cpu()[:, lps // 2 :: lps]  # (B, T, C, H, W)
    m = torch.tensor(mean).view(1, 1, -1, 1, 1)
    s = torch.tensor(std).view(1, 1, -1, 1, 1)
    return (x * s + m).clamp(0, 1).permute(0, 1, 3, 4, 2)  # (B, T, H, W, C)


def select_views(views: Sequence[View], kind: str, patterns: Optional[Sequence[str]] = None,
                 max_rows: Optional[int] = None) -> list[View]:
    """The views of one kind, filtered by fnmatch ``patterns`` over module names, at most
    ``max_rows`` of them spread evenly over the network (the first and last always kept)."""
    from fnmatch import fnmatch

    chosen = [v for v in views if v.kind == kind
              and (not patterns or any(fnmatch(v.module, p) for p in patterns))]
    if max_rows is not None and len(chosen) > max_rows > 0:
        picks = torch.linspace(0, len(chosen) - 1, max_rows).round().long().unique()
        chosen = [chosen[i] for i in picks.tolist()]
    return chosen
