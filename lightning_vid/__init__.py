"""lightning_vid: video action recognition with 2D CNNs and temporal modules."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``lightning_vid.load_checkpoint`` without importing torch on ``import lightning_vid``."""
    if name == "load_checkpoint":
        from lightning_vid.checkpoint import load_checkpoint

        return load_checkpoint
    raise AttributeError(f"module 'lightning_vid' has no attribute {name!r}")
