"""lightning_vid: video action recognition with 2D CNNs and temporal modules."""

__version__ = "0.1.0"
