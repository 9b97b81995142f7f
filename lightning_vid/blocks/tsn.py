"""TSN: the baseline without temporal modelling.

Paper: L. Wang, Y. Xiong, Z. Wang, Y. Qiao, D. Lin, X. Tang, L. Van Gool, "Temporal Segment
Networks: Towards Good Practices for Deep Action Recognition", ECCV 2016. The baseline of
every later paper is the authors' TSM codebase with the shift switched off
(mit-han-lab/temporal-shift-module; reference-notes.md section 2): a 2D ResNet-50 runs on each
of the T frames alone and the per-frame logits are averaged (the segmental consensus, in
``lightning_vid/models/recognizer.py``). Nothing is injected into the trunk, so the model
cannot tell a clip from the same frames in another order.
"""

from __future__ import annotations

from torch import nn

from lightning_vid.models import PaperFigure, register_block


@register_block("tsn", placement=None, figures=[
    PaperFigure("TSM paper Table (TSN R50 8f) / measured official code", 400, 224, 24.33, 32.7,
                note="official-code measurement: 24,327,632 params, 32.70 GMACs"),
    PaperFigure("TSN on TEA's trunk (Res2Net-50 26w4s) / measured official code", 400, 224,
                24.47, 34.03, kwargs={"backbone": "res2net50_26w_4s"},
                note="TEA's reference; official-code measurement: 24,469,720 params, 34.03 GMACs"),
])
class NoTemporalBlock(nn.Identity):
    """TSN injects nothing (``placement=None``); this class only carries the registration."""
