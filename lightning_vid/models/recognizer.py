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
from typing import Literal, Optional

from torch import Tensor, nn

from lightning_vid.models.folding import fold_time, unfold_time
from lightning_vid.models.trunk import features


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
        head_init: Literal["normal", "xavier_uniform"] = "normal",
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
