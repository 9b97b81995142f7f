"""Models: a timm ResNet trunk with injected temporal blocks and the TSN head.

Layers, bottom to top; an import only ever points down (``tests/test_layers.py``):

1. :mod:`lightning_vid.trunk`: the adapter that knows timm's ResNets (``adapter.py``), the
   placements and the injection (``inject.py``), a block's wiring (``wiring.py``:
   ``register_block``, ``Insert``).
2. :mod:`lightning_vid.blocks`: one temporal block per file, registered with its wiring.
3. :mod:`lightning_vid.models`: :class:`VideoRecognizer` (``recognizer.py``), which receives
   its blocks as callables; the named presets (``presets.py``: ``build_model``,
   ``list_models``); the papers' figures (``figures.py``); official and 2D weights
   (``official.py``, ``weights.py``); the class names configs and checkpoints used before
   (``legacy.py``, ``zoo.py``).
"""

from __future__ import annotations

from lightning_vid.models.figures import PaperFigure
from lightning_vid.models.folding import fold_time, unfold_time
from lightning_vid.models.legacy import check_network, upgrade_network
from lightning_vid.models.official import load_official
from lightning_vid.models.presets import build_model, get_architecture, list_models, register_model
from lightning_vid.models.recognizer import Recognizer, VideoRecognizer
from lightning_vid.models.weights import load_weights
from lightning_vid.trunk import Insert, register_block

__all__ = ["Insert", "PaperFigure", "Recognizer", "VideoRecognizer", "build_model",
           "check_network", "fold_time", "get_architecture", "list_models", "load_official",
           "load_weights", "register_block", "register_model", "unfold_time",
           "upgrade_network"]
