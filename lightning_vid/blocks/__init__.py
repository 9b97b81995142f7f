"""Temporal blocks, one per file. Each is built as ``Block(channels, num_segments, *, ...)``
and maps ``(B*T, C, H, W)`` to ``(B*T, C, H, W)``."""
