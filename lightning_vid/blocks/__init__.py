"""Temporal blocks, one per file. Each is built as ``Block(channels, num_segments, *, ...)``,
maps ``(B*T, C, H, W)`` to ``(B*T, C, H, W)`` and registers itself as an architecture with
``lightning_vid.models.register_block``; ``ops.py`` holds what several blocks share.

Every module here is imported the first time the model registry is read
(``lightning_vid.models.registry.import_blocks``): a new file needs no other edit.
"""
