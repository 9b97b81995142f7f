"""The class names configs and checkpoints of earlier releases use:
``lightning_vid.models.zoo.TSM``, ``TANet``, ``TCM``, ``TDN``, ``TEA``, ``TRM``, ``TSN``
(defined in :mod:`lightning_vid.models.legacy`). Each builds its preset and warns with
today's config: ``lightning_vid.models.VideoRecognizer`` and its ``blocks``."""

from lightning_vid.models.legacy import TCM, TDN, TEA, TRM, TSM, TSN, TANet

__all__ = ["TANet", "TCM", "TDN", "TEA", "TRM", "TSM", "TSN"]
