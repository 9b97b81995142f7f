"""The video recognizer: trunk with temporal blocks, then the TSN head.

Data flow (letters of DESIGN.md)::

    x (B, T*L, C, H, W) -> fold -> (B*T*L, C, H, W) -> frame_features -> (B*T, D)
      -> dropout -> fc -> (B*T, K) -> unfold -> (B, T, K) -> mean over T -> (B, K)

The consensus averages per-frame logits before the softmax, as TSN, TSM, TAM, TEA, TDN
and TCM do. The fc starts N(0, 0.001) with zero bias (reference-notes.md 1.3), or
Xavier-uniform with zero bias (``head_init="xavier_uniform"``: TCM's Conv1d head, the same
map). With L > 1 frames per segment a frame hook (TDN's short-term branch) turns the L frames
of each segment into the trunk's input and into maps fused into the trunk on the way.
"""

from __future__ import annotations

import functools
from typing import Callable, Literal, Optional, Sequence, Union

from torch import Tensor, nn

from lightning_vid.models.folding import fold_time, unfold_time
from lightning_vid.trunk.adapter import Pretrained, create_trunk, features
from lightning_vid.trunk.wiring import BlockFactory, Insert, check_blocks, describe, inject_blocks

HeadInit = Literal["normal", "xavier_uniform"]
#: ``hook(trunk, num_segments)`` -> the frame hook (TDN's ``ShortTermTDM`` with its options).
FrameHookFactory = Callable[[nn.Module, int], nn.Module]


class Recognizer(nn.Module):
    """A 2D trunk (possibly with temporal blocks injected) plus dropout, fc and consensus.

    Args:
        trunk: a timm model built with ``num_classes=0`` (``forward_features`` and
            ``forward_head(pre_logits=True)`` give pooled features of size ``num_features``).
        num_classes: K.
        num_segments: T, fixed at construction (several blocks bake it into their weights).
        frames_per_segment: L (> 1 needs a frame hook, :meth:`set_frame_hook`).
        dropout: dropout probability before the fc.
        head_init: ``"normal"`` N(0, 0.001) or ``"xavier_uniform"``; the bias starts at zero.
    """

    def __init__(
        self,
        trunk: nn.Module,
        num_classes: int,
        num_segments: int,
        frames_per_segment: int = 1,
        dropout: float = 0.5,
        head_init: HeadInit = "normal",
    ) -> None:
        super().__init__()
        if num_classes < 1 or num_segments < 1 or frames_per_segment < 1:
            raise ValueError("num_classes, num_segments and frames_per_segment must be >= 1")
        self.trunk = trunk
        self.num_classes = num_classes
        self.num_segments = num_segments
        self.frames_per_segment = frames_per_segment
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(trunk.num_features, num_classes)
        if head_init == "xavier_uniform":
            nn.init.xavier_uniform_(self.fc.weight)
        elif head_init == "normal":
            nn.init.normal_(self.fc.weight, 0.0, 0.001)
        else:
            raise ValueError(f"head_init must be 'normal' or 'xavier_uniform', got {head_init!r}")
        nn.init.zeros_(self.fc.bias)
        self._hook_name: Optional[str] = None

    def set_frame_hook(self, hook: nn.Module) -> None:
        """Install the frame hook, stored as ``self.<hook.hook_name>`` (its state-dict prefix)."""
        self._hook_name = getattr(hook, "hook_name", "frame_hook")
        setattr(self, self._hook_name, hook)

    @property
    def frame_hook(self) -> Optional[nn.Module]:
        """The frame hook, or None (one frame per segment through the trunk)."""
        return None if self._hook_name is None else getattr(self, self._hook_name)

    def frame_features(self, x: Tensor) -> Tensor:
        """``(B*T*L, C, H, W)`` -> pooled features ``(B*T, D)``."""
        hook = self.frame_hook
        if hook is None:
            return features(self.trunk, x)
        centre, laterals = hook(x)  # (B*T, C, H, W), {fusion point: (B*T, c, h, w)}
        fuse = {point: functools.partial(hook.fuse, lateral=d) for point, d in laterals.items()}
        return features(self.trunk, centre, fuse)

    def check_input(self, x: Tensor) -> None:
        """Raise a ValueError unless ``x`` is ``(B, T*L, C, H, W)`` for this model."""
        expected = self.num_segments * self.frames_per_segment
        if x.dim() != 5 or x.shape[1] != expected:
            raise ValueError(
                f"expected a clip batch (B, T*L, C, H, W) with T*L = {self.num_segments}*"
                f"{self.frames_per_segment} = {expected} frames, got shape {tuple(x.shape)}"
            )

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T*L, C, H, W)`` float -> logits ``(B, K)``."""
        self.check_input(x)
        feats = self.frame_features(fold_time(x))  # (B*T, D)
        logits = self.fc(self.dropout(feats))  # (B*T, K)
        return unfold_time(logits, self.num_segments).mean(dim=1)  # (B, T, K) -> (B, K)


class VideoRecognizer(Recognizer):
    """A timm ResNet trunk, the temporal blocks it is given, then the TSN head.

    What a config names (``model.model``); the presets (:func:`~lightning_vid.models.build_model`)
    build the papers' models with it::

        class_path: lightning_vid.models.VideoRecognizer
        init_args:
          backbone: resnet50
          blocks:
            - class_path: lightning_vid.blocks.tsm.TemporalShift
              init_args: {fold_div: 8}

    Args:
        num_classes: K. Required in Python; the CLI sets it from the data
            (``--data.init_args.num_classes`` or the class-name file).
        num_segments: T, fixed at construction (several blocks bake it into their weights).
        backbone: a timm ResNet-family name (``resnet50.tv_in1k`` picks torchvision's weights).
        pretrained: ``False``, ``True`` (timm's hub) or a local 2D weights file.
        input_size: the square frame size the model will see (blocks that depend on the map
            size are built for it).
        dropout: before the fc.
        blocks: the temporal blocks, injected in order after the 2D weights load. Each is a
            callable ``block(channels, num_segments)`` (a block class, a partial of one, or
            ``class_path``/``init_args``), wired as its registration says
            (:func:`~lightning_vid.trunk.register_block`), or an
            :class:`~lightning_vid.trunk.Insert` that changes the wiring for that entry.
        frame_hook: ``hook(trunk, num_segments)`` -> a module that sees the L frames of each
            segment before the trunk (TDN's ``ShortTermTDM``); L is its ``frames_per_segment``.
        head_init: the fc's initialisation: ``"normal"`` N(0, 0.001) (TSN's codebase) or
            ``"xavier_uniform"`` (TCM's code); bias zero.

    Raises:
        ValueError: a block's placement does not exist in ``backbone`` (TEA's sub-convs need
            Res2Net), before any weight is built.

    >>> import torch
    >>> from lightning_vid.blocks.tsm import TemporalShift
    >>> m = VideoRecognizer(5, 4, "resnet18", blocks=[TemporalShift])
    >>> m(torch.randn(2, 4, 3, 32, 32)).shape
    torch.Size([2, 5])
    """

    def __init__(
        self,
        num_classes: Optional[int] = None,
        num_segments: int = 8,
        backbone: str = "resnet50",
        pretrained: Pretrained = False,
        input_size: int = 224,
        dropout: float = 0.5,
        *,
        blocks: Sequence[Union[BlockFactory, Insert]] = (),
        frame_hook: Optional[FrameHookFactory] = None,
        head_init: HeadInit = "normal",
    ) -> None:
        if num_classes is None:
            raise TypeError(f"{type(self).__name__}: num_classes is required (the number of "
                            "classes; the CLI sets it from the data)")
        check_blocks(backbone, blocks)
        trunk = create_trunk(backbone, pretrained)
        inject_blocks(trunk, blocks, num_segments, input_size)
        super().__init__(trunk, num_classes, num_segments, 1, dropout, head_init=head_init)
        #: what messages call the model: its blocks' names (a preset sets the paper's, TANet)
        self.title = " + ".join(dict.fromkeys(
            describe(b.block if isinstance(b, Insert) else b).upper() for b in blocks)) or "TSN"
        if frame_hook is not None:  # built after the head, as the models saved before were
            self.set_frame_hook(frame_hook(trunk, num_segments))
            self.frames_per_segment = self.frame_hook.frames_per_segment
