"""TSN: the baseline without temporal modelling.

Paper: L. Wang, Y. Xiong, Z. Wang, Y. Qiao, D. Lin, X. Tang, L. Van Gool, "Temporal Segment
Networks: Towards Good Practices for Deep Action Recognition", ECCV 2016. The baseline of
every later paper is the authors' TSM codebase with the shift switched off
(mit-han-lab/temporal-shift-module; reference-notes.md section 2): a 2D ResNet-50 runs on each
of the T frames alone and the per-frame logits are averaged (the segmental consensus, in
``lightning_vid/models/recognizer.py``). Nothing is injected into the trunk (the ``tsn``
preset is a ``VideoRecognizer`` with no blocks), so the model cannot tell a clip from the same
frames in another order. This module holds no code.
"""
