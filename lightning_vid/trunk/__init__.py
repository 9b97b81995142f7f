"""The bottom layer: the timm trunk adapter and the injection of temporal blocks into it.

Layers point one way (``tests/test_layers.py`` parses every import and keeps it so)::

    lightning_vid.trunk     adapter.py (the one module that knows timm's ResNets),
                            inject.py (placements, sites), wiring.py (register_block, Insert)
        ^
    lightning_vid.blocks    one temporal block per file; imports torch, blocks.ops, trunk
        ^
    lightning_vid.models    VideoRecognizer, the named presets, official weights, legacy names

A block never imports :mod:`lightning_vid.models`; this package imports neither.
"""

from lightning_vid.trunk.inject import PLACEMENTS, BlockSite, Placement, every_block
from lightning_vid.trunk.wiring import CONTEXT, Insert, register_block

__all__ = ["CONTEXT", "PLACEMENTS", "BlockSite", "Insert", "Placement", "every_block",
           "register_block"]
