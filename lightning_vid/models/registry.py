"""A tiny registry of model builders, for ``build_model``, ``list_models`` and tests."""

from __future__ import annotations

from typing import Callable

from torch import nn

Builder = Callable[..., nn.Module]  # a Recognizer subclass (or any callable building one)
_BUILDERS: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Decorator registering ``builder`` under ``name``."""

    def add(builder: Builder) -> Builder:
        if name in _BUILDERS:
            raise KeyError(f"model {name!r} is already registered")
        _BUILDERS[name] = builder
        return builder

    return add


def list_models() -> list[str]:
    """The registered architecture names, sorted."""
    return sorted(_BUILDERS)


def get_builder(name: str) -> Builder:
    """The builder of ``name``; a ValueError lists the valid names."""
    try:
        return _BUILDERS[name]
    except KeyError:
        raise ValueError(
            f"unknown arch {name!r}; valid names: {', '.join(list_models())}"
        ) from None
