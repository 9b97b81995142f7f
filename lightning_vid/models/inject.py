"""Moved to :mod:`lightning_vid.trunk.inject` (the bottom layer); this name keeps working."""

from lightning_vid.trunk.inject import *  # noqa: F401,F403
