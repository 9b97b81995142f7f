"""Temporal blocks, one per file. Each is built as ``Block(channels, num_segments, *, ...)``,
maps ``(B*T, C, H, W)`` to ``(B*T, C, H, W)`` and declares where it goes with
``lightning_vid.trunk.register_block``; ``ops.py`` holds what several blocks share.

Blocks sit above the trunk layer (``lightning_vid.trunk``) and below the models: a block
never imports ``lightning_vid.models``. Every module here is imported the first time the
model presets are listed (``lightning_vid.models.presets.import_blocks``): a new file needs no
other edit.
"""
