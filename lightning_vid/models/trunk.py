"""Moved to :mod:`lightning_vid.trunk.adapter` (the bottom layer); this name keeps working."""

from lightning_vid.trunk.adapter import *  # noqa: F401,F403
from lightning_vid.trunk.adapter import STAGE_ROLE, canonical_key, locate  # noqa: F401
