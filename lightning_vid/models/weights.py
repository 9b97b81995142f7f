"""Initialise a built model from another run's weights (fine-tuning, TRM's two-stage recipe).

:func:`load_weights` copies every tensor whose name matches, after two normalisations:

- the source: a Lightning checkpoint of :class:`~lightning_vid.system.VideoClassifier`
  (``state_dict`` with ``model.`` keys), a plain model ``state_dict``, a 2D timm trunk's
  (``conv1.weight``, matched to ``trunk.conv1.weight``), or an authors' checkpoint (TSM,
  TANet, TDN, TEA, TCM, mmaction2's TSM/TANet: ``models/official.py`` renames its keys);
- the wrappers that keep a wrapped module's weights (``conv1`` wrapped as ``conv1.conv`` by
  TSM, TRM, TCM; ``act1.act``; ``layerN.stage``; the full list is the trunk adapter's,
  :func:`lightning_vid.models.trunk.canonical_key`) are read as the plain 2D names, so a TSN
  checkpoint initialises a TRM or TSM model's trunk and the other way round.

Keys under ``skip`` (module prefixes: ``("fc",)`` drops the classifier when the number of
classes changes, e.g. Kinetics -> UCF101) and keys the source lacks (the new temporal
modules) keep their initialisation; a shape mismatch on any other key is an error.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, NamedTuple, Sequence, Union

import torch
from torch import Tensor, nn

from lightning_vid.models.official import (check_declared_segments, declared_segments,
                                            official_state_dict)
from lightning_vid.trunk.adapter import canonical_key

Source = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class LoadReport(NamedTuple):
    """What :func:`load_weights` did, as target key lists."""

    loaded: list[str]
    skipped: list[str]
    missing: list[str]  # in the model, not in the source: kept as initialised
    unexpected: list[str]  # source keys that matched nothing


def source_state_dict(source: Source) -> dict[str, Tensor]:
    """The model weights held by ``source`` (see the module docstring), unprefixed."""
    obj = source
    if not isinstance(source, Mapping):
        obj = torch.load(os.fspath(source), map_location="cpu", weights_only=False)
    official = official_state_dict(obj)  # an authors' checkpoint (TSM, TANet, TDN, ...)
    if official is not None:
        return official
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]  # a Lightning checkpoint
    elif isinstance(obj, Mapping) and isinstance(obj.get("model"), Mapping):
        obj = obj["model"]  # {"model": state_dict, ...} as many training scripts save
    state = {k: v for k, v in obj.items() if isinstance(v, Tensor)}
    if any(k.startswith("model.") for k in state):  # the system's prefix
        state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    return state


def _skipped(key: str, skip: Sequence[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in skip)


def _some(keys: Sequence[str]) -> str:
    return ", ".join(keys[:6]) + (f" ... ({len(keys)} in all)" if len(keys) > 6 else "")


def _load_exactly(model: nn.Module, state: Mapping[str, Tensor], source: Source) -> LoadReport:
    """Every tensor of ``model`` from ``state`` under its own name, nothing left over."""
    target = model.state_dict()
    missing = sorted(k for k in target if k not in state)
    unexpected = sorted(k for k in state if k not in target)
    shapes = sorted(f"{k} {tuple(state[k].shape)} vs {tuple(target[k].shape)}"
                    for k in target if k in state and state[k].shape != target[k].shape)
    if missing or unexpected or shapes:
        name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "the weights"
        raise ValueError(
            f"{name} does not hold this "
            f"model ({type(model).__name__}): {len(missing)} of its tensors missing "
            f"[{_some(missing)}], {len(unexpected)} of the file's left over [{_some(unexpected)}]"
            f", {len(shapes)} of another shape (file vs model) [{_some(shapes)}]. Evaluating "
            "needs every weight: check the config's architecture, backbone and num_segments")
    model.load_state_dict(dict(state), strict=True)
    return LoadReport(sorted(target), [], [], [])


def load_weights(model: nn.Module, source: Source, skip: Sequence[str] = ("fc",),
                 strict: bool = False) -> LoadReport:
    """Copy the matching weights of ``source`` into ``model`` in place.

    Args:
        model: the freshly built model (any ``num_classes``, temporal modules or not).
        source: a checkpoint path or an already loaded dict (module docstring).
        skip: module prefixes of ``model`` never loaded (``"fc"``: a new classifier).
        strict: the source must be this very model (evaluating it): every tensor under its own
            name (no wrapper-name matching, so a temporal block placed elsewhere is an error),
            nothing left over, ``skip`` ignored.

    Returns:
        A :class:`LoadReport`.

    Raises:
        ValueError: when nothing matches or a matched tensor has another shape; with
            ``strict``, when a tensor is missing, left over or of another shape (named).

    >>> from lightning_vid.models import build_model
    >>> tsn = build_model("tsn", num_classes=3, num_segments=4, backbone="resnet18")
    >>> tsm = build_model("tsm", num_classes=5, num_segments=4, backbone="resnet18")
    >>> report = load_weights(tsm, tsn.state_dict())
    >>> report.skipped, report.missing, len(report.unexpected)
    (['fc.bias', 'fc.weight'], [], 2)
    """
    obj = source if isinstance(source, Mapping) else torch.load(
        os.fspath(source), map_location="cpu", weights_only=False)
    state = source_state_dict(obj)
    if (not isinstance(source, Mapping) and hasattr(model, "num_segments")
            and official_state_dict(obj) is not None):  # an authors' file: the T it states
        check_declared_segments(declared_segments(source, obj),
                                "tdn" if _follows_t(model) else "",
                                int(model.num_segments), source, evaluating=strict)
    if strict:
        return _load_exactly(model, state, source)
    by_canonical: dict[str, str] = {}
    for key in state:
        by_canonical.setdefault(canonical_key(key), key)
        by_canonical.setdefault(canonical_key("trunk." + key), key)  # a bare 2D trunk
    target = model.state_dict()
    used: set[str] = set()
    loaded, skipped, missing, updates = [], [], [], {}
    for key, value in target.items():
        if _skipped(key, skip):
            skipped.append(key)
            continue
        src = key if key in state else by_canonical.get(canonical_key(key))
        if src is None:
            missing.append(key)
            continue
        if state[src].shape != value.shape:
            raise ValueError(f"{key}: the source {src!r} has shape {tuple(state[src].shape)}, the "
                             f"model {tuple(value.shape)}; add its module to skip")
        updates[key] = state[src]
        used.add(src)
        loaded.append(key)
    if not loaded:
        raise ValueError("no weight of the source matches the model")
    model.load_state_dict(updates, strict=False)
    unexpected = sorted(k for k in state if k not in used)
    return LoadReport(sorted(loaded), sorted(skipped), sorted(missing), unexpected)


def _follows_t(model: nn.Module) -> bool:
    """Whether weights not in a file follow T (TDN's short-term fusion weights)."""
    from lightning_vid.blocks.tdn import ShortTermTDM

    return any(isinstance(m, ShortTermTDM) for m in model.modules())
