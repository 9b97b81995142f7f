"""The video recognizer: trunk with temporal blocks, then the TSN head.

Data flow (letters of DESIGN.md)::

    x (B, T*L, C, H, W) -> fold -> (B*T*L, C, H, W) -> frame_features -> (B*T, D)
      -> dropout -> fc -> (B*T, K) -> unfold -> (B, T, K) -> mean over T -> (B, K)

The consensus averages per-frame logits before the softmax, as TSN, TSM, TAM, TEA, TDN
and TCM do. The fc is initialised N(0, 0.001) with zero bias (reference-notes.md 1.3).
Models that use several frames per segment (TDN, L = 5) override :meth:`frame_features`.
"""

from __future__ import annotations

from torch import Tensor, nn

from lightning_vid.models.folding import fold_time, unfold_time


class Recognizer(nn.Module):
    """A 2D trunk (possibly with temporal blocks injected) plus dropout, fc and consensus.

    Args:
        trunk: a timm model built with ``num_classes=0`` (``forward_features`` and
            ``forward_head(pre_logits=True)`` give pooled features of size ``num_features``).
        num_classes: K.
        num_segments: T, fixed at construction (several blocks bake it into their weights).
        frames_per_segment: L.
        dropout: dropout probability before the fc.
    """

    def __init__(
        self,
        trunk: nn.Module,
        num_classes: int,
        num_segments: int,
        frames_per_segment: int = 1,
        dropout: float = 0.5,
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
        nn.init.normal_(self.fc.weight, 0.0, 0.001)
        nn.init.zeros_(self.fc.bias)

    def frame_features(self, x: Tensor) -> Tensor:
        """``(B*T*L, C, H, W)`` -> pooled features ``(B*T, D)``; here L = 1."""
        return self.trunk.forward_head(self.trunk.forward_features(x), pre_logits=True)

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
