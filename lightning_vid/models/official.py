"""The authors' released checkpoints as lightning_vid models.

:func:`load_official` reads a checkpoint file as the authors' repositories save it and returns
our model with every tensor in place, in eval mode:

- the TSN code base and its forks: mit-han-lab/temporal-shift-module (TSM and its TSN),
  liu-zhy/temporal-adaptive-module (TANet), MCG-NJU/TDN, Phoenix1327/tea-action-recognition
  (TEA), zphyix/TCM. Their ``main.py`` saves ``{'epoch', 'arch', 'state_dict', 'best_prec1'}``
  (TDN adds ``optimizer``, ``scheduler``) whose state dict is that of the
  ``nn.DataParallel``/DDP-wrapped model, every key starting ``module.``; a bare state dict,
  with or without the prefix, is read the same;
- open-mmlab/mmaction2 (TSM, TANet): ``{'meta', 'state_dict'}`` with ``backbone.`` and
  ``cls_head.`` keys.

A format is a small table (:data:`FORMATS`): regex renames from the official key to ours,
applied in order, plus the keys that carry nothing (TDN's unused ``conv1_temp``, mmaction2's
``data_preprocessor`` buffers). The "ours" side follows the wrappers of the trunk adapter
``models/trunk.py`` (``conv1.conv``, ``act1.temporal``, ``layerN.stage``/``layerN.temporal``;
in TEA's Res2Net blocks ``bn1.temporal``, ``convs.i.temporal``, ``pool.temporal``) and the
module names of the block files; reference-notes.md section 14 lists the same layouts. Tensor fixes:

- TDN's convolutions carry biases (its FBResNet uses ``bias=True``; ours are bias-free): each
  bias is folded into the BatchNorm that follows (``bn.running_mean -= conv.bias``), exact in
  eval and in training (a batch mean absorbs a constant);
- TCM's classifier is a 1x1 ``Conv1d``: its ``(K, D, 1)`` weight is squeezed to ``(K, D)``.

The number of classes comes from the classifier, the trunk (ResNet-18..152, or Res2Net 26w4s
for TEA) from the blocks per stage. What the weights do not hold is the caller's: T (TANet's is
checked against its weights), and options such as TSM's ``shift_div`` (8 in every released
file, ``shift8`` in their names; ``fold_div=`` otherwise). Loading is exact: a key left
over, a key missing or a shape that differs raises :class:`OfficialCheckpointError`, naming them.

Checkpoints are unpickled: read only files you trust.
"""

from __future__ import annotations

import os
import pickle
import re
import types
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

import torch
from torch import Tensor, nn

from lightning_vid.models.presets import build_model

PathLike = Union[str, "os.PathLike[str]"]
Rule = tuple[str, str]  # (regex on the official key, replacement), applied with re.sub


class OfficialCheckpointError(ValueError):
    """A checkpoint that does not load exactly into the requested architecture."""


# ---- the tables: official key -> our key ---------------------------------------------------

#: Our wrapper names (``models/trunk.py``): a rename there is a one-line change here.
BEFORE_CONV1 = "conv1.conv"  # conv1 -> Sequential(temporal=block, conv=conv1): the conv's key
AFTER_CONV1 = "act1.temporal"  # act1 -> Sequential(act=act1, temporal=block): the block's key
STAGE, AFTER_STAGE = "stage", "temporal"  # layerN -> Sequential(stage=..., temporal=block)

#: The TSN code base (all five repositories): classifier and trunk prefixes. ``classifier``:
#: older TSM files; ``fc``/``fc1``: a model trained with dropout 0 (TCM's head is ``fc1``).
_TSN_HEAD: tuple[Rule, ...] = (
    (r"^new_fc\.", "fc."),
    (r"^base_model\.(classifier|fc1?)\.", "fc."),
    (r"^base_model\.", "trunk."),
)
#: mmaction2's ResNet: ConvModules (``convK.conv``, ``convK.bn``) and the TSM head.
_MMACTION2_RESNET: tuple[Rule, ...] = (
    (r"^cls_head\.fc_cls\.", "fc."),
    (r"^backbone\.conv1\.conv\.", "trunk.conv1."),
    (r"^backbone\.conv1\.bn\.", "trunk.bn1."),
    (r"^backbone\.", "trunk."),
    (r"\.block\.", "."),  # TANet's TABlock wrapper
    (r"\.downsample\.conv\.", ".downsample.0."),
    (r"\.downsample\.bn\.", ".downsample.1."),
    (r"\.conv(\d)\.bn\.", r".bn\1."),
    (r"\.conv(\d)\.conv\.(?!net\.)", r".conv\1."),
)
_TSM_SHIFT: Rule = (r"\.conv1\.(?:conv\.)?net\.", f".{BEFORE_CONV1}.")  # the shift wraps conv1
_TAM: tuple[Rule, ...] = (
    (r"^(trunk\.layer\d\.\d+)\.net\.", r"\1."),  # TemporalBottleneck wraps the block
    (r"\.tam\.G\.", f".{AFTER_CONV1}.global_branch."),
    (r"\.tam\.L\.", f".{AFTER_CONV1}.local_branch."),
)
_TDN_LTDM = {  # mSEModule -> LongTermTDM
    "conv1": "reduce", "bn1": "reduce_bn", "conv2": "smooth",
    "conv3_smallscale2": "pooled_conv", "bn3_smallscale2": "pooled_bn",
    "conv3_smallscale4": "full_conv", "bn3_smallscale4": "full_bn",
    "conv3": "expand", "bn3": "expand_bn",
}
_TEA_ME = {"conv1": "conv_red", "bn1": "bn_red", "conv2": "conv_trans", "conv3": "conv_exp",
           "bn3": "bn_exp"}
_TCM = f"trunk.layer2.{AFTER_STAGE}"  # TCM after res3
#: TCM's attention: four Sequentials -> one ``transform`` Sequential: (offset, layers) of each.
_TCM_TRANSFORM = {"conv1": (0, 12), "conv2": (12, 6), "conv3": (18, 6), "conv4": (24, 6)}


@dataclass(frozen=True)
class OfficialFormat:
    """How one repository's checkpoints of one architecture map onto ours."""

    arch: str  # ours
    source: str  # the repository
    signature: str  # a regex some key of such a file matches (and no other format's does)
    rules: tuple[Rule, ...]
    drop: tuple[str, ...] = ()  # regexes of official keys that hold nothing we use
    fold_conv_bias: bool = False  # TDN
    squeeze: tuple[str, ...] = ()  # official keys whose trailing 1-dim goes (TCM's Conv1d head)


FORMATS: tuple[OfficialFormat, ...] = (
    OfficialFormat(
        "tdn", "MCG-NJU/TDN", r"^base_model\.layer1_bak\.",
        rules=(
            (r"^base_model\.conv1_5\.0\.", "short_term.conv."),
            (r"^base_model\.conv1_5\.1\.", "short_term.bn."),
            (r"^base_model\.resnext_layer1\.", "short_term.stage."),
            (r"^base_model\.layer(\d)_bak\.", r"trunk.layer\1."),
            *_TSN_HEAD,
            *((rf"\.mse\.{a}\.", f".{AFTER_CONV1}.ltdm.{b}.") for a, b in _TDN_LTDM.items()),
            (r"\.shift\.conv\.", f".{AFTER_CONV1}.tconv."),
        ),
        drop=(r"^base_model\.conv1_temp\.",), fold_conv_bias=True,
    ),
    OfficialFormat(
        "tcm", "zphyix/TCM", r"^base_model\.tcm_layer\.",
        rules=(
            (r"^base_model\.tcm_layer\.mtdm\.chnl_reduction\.", f"{_TCM}.reduce."),
            *((rf"^base_model\.tcm_layer\.tam\.{name}\.{i}\.",
               f"{_TCM}.attention.transform.{offset + i}.")
              for name, (offset, size) in _TCM_TRANSFORM.items() for i in range(size)),
            (r"^base_model\.tcm_layer\.tam\.ETA\.conv\.", f"{_TCM}.attention.eca."),
            (r"^base_model\.layer2\.", f"trunk.layer2.{STAGE}."),
            *_TSN_HEAD,
            # the shift before conv1 of every block (a function in TCM's code: no key of its own)
            (rf"^(trunk\.layer\d\.(?:{STAGE}\.)?\d+)\.conv1\.", rf"\1.{BEFORE_CONV1}."),
        ),
        squeeze=(r"^new_fc\.weight$", r"^base_model\.fc1\.weight$"),
    ),
    OfficialFormat(
        "tea", "Phoenix1327/tea-action-recognition", r"\.me\.conv1\.weight$",
        rules=(
            *_TSN_HEAD,
            # timm's Bottle2neck keeps its own modules; ME and the temporal convs sit in its slots
            (r"^(trunk\.layer\d\.\d+)\.bn1\.", r"\1.bn1.bn."),  # bn1 -> Sequential(bn, temporal=ME)
            *((rf"\.me\.{a}\.", f".bn1.temporal.{b}.") for a, b in _TEA_ME.items()),
            (r"\.convs\.(\d)\.", r".convs.\1.conv."),  # convs.i -> Sequential(temporal, conv)
            (r"\.shifts\.3\.conv\.", ".pool.temporal."),  # the last of scale = 4 groups
            (r"\.shifts\.(\d)\.conv\.", r".convs.\1.temporal."),
        ),
    ),
    OfficialFormat("tam", "liu-zhy/temporal-adaptive-module", r"^base_model\..*\.tam\.G\.",
                   rules=(*_TSN_HEAD, *_TAM)),
    OfficialFormat("tsm", "mit-han-lab/temporal-shift-module", r"^base_model\..*\.conv1\.net\.",
                   rules=(*_TSN_HEAD, _TSM_SHIFT)),
    OfficialFormat("tsn", "mit-han-lab/temporal-shift-module", r"^base_model\.layer1\.0\.conv1\.",
                   rules=_TSN_HEAD),
    OfficialFormat("tam", "open-mmlab/mmaction2", r"^backbone\..*\.tam\.G\.",
                   rules=(*_MMACTION2_RESNET, *_TAM), drop=(r"^data_preprocessor\.",)),
    OfficialFormat("tsm", "open-mmlab/mmaction2", r"^backbone\..*\.conv1\.conv\.net\.",
                   rules=(*_MMACTION2_RESNET, _TSM_SHIFT), drop=(r"^data_preprocessor\.",)),
)
_MMACTION2 = "open-mmlab/mmaction2"

#: Blocks per stage -> timm trunk (bottleneck, basic, Res2Net 26w4s).
_DEPTHS = {(3, 4, 6, 3): "50", (3, 4, 23, 3): "101", (3, 8, 36, 3): "152", (2, 2, 2, 2): "18"}


# ---- reading ---------------------------------------------------------------------------------


class _Stub:
    """Stands for a class the checkpoint's metadata names but this environment lacks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


class _LenientUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):  # e.g. mmengine objects in a 'meta' entry
            return _Stub


_lenient_pickle = types.SimpleNamespace(
    Unpickler=_LenientUnpickler, load=lambda f, **kw: _LenientUnpickler(f, **kw).load(),
    __name__="lightning_vid_lenient_pickle")


def read_checkpoint(path: PathLike) -> Mapping[str, Any]:
    """``torch.load`` of an authors' file on the CPU: tensors only when it can; otherwise the
    full unpickler, with classes this environment lacks (mmengine's, numpy's...) stubbed."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        return torch.load(path, map_location="cpu", weights_only=False,
                          pickle_module=_lenient_pickle)


def _tensors(obj: Mapping[str, Any]) -> dict[str, Tensor]:
    """The model weights of a loaded checkpoint, without the DataParallel prefix."""
    for key in ("state_dict", "model"):
        if isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    state = {k: v for k, v in obj.items() if isinstance(v, Tensor)}
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def detect_format(state: Mapping[str, Tensor]) -> Optional[OfficialFormat]:
    """The format whose signature a key of ``state`` matches first, or ``None``."""
    for fmt in FORMATS:
        pattern = re.compile(fmt.signature)
        if any(pattern.search(k) for k in state):
            return fmt
    return None


# ---- converting ------------------------------------------------------------------------------


def _fold_conv_biases(state: dict[str, Tensor]) -> None:
    """``convK.bias`` into ``bnK`` and ``downsample.0.bias`` into ``downsample.1``, in place."""
    for key in [k for k in state if k.endswith(".bias")]:
        bn = re.sub(r"(^|\.)conv(\d)\.bias$", r"\1bn\2", key)
        bn = re.sub(r"(^|\.)downsample\.0\.bias$", r"\1downsample.1", bn)
        if bn == key:
            continue
        mean = bn + ".running_mean"
        if mean not in state:
            raise OfficialCheckpointError(f"{key}: no BatchNorm statistics {mean} to fold it into")
        state[mean] = state[mean] - state.pop(key)


def convert(state: Mapping[str, Tensor], fmt: OfficialFormat) -> tuple[dict[str, Tensor],
                                                                        dict[str, str]]:
    """Apply ``fmt`` to an (unprefixed) official state dict.

    Returns:
        Our state dict, and for each of its keys the official key it came from.
    """
    state = {k: v for k, v in state.items()
             if not any(re.search(p, k) for p in fmt.drop)}
    if fmt.fold_conv_bias:
        _fold_conv_biases(state)
    ours: dict[str, Tensor] = {}
    origin: dict[str, str] = {}
    for key, value in state.items():
        if any(re.search(p, key) for p in fmt.squeeze) and value.dim() == 3:
            value = value.squeeze(-1)
        new = key
        for pattern, repl in fmt.rules:
            new = re.sub(pattern, repl, new)
        ours[new], origin[new] = value, key
    return ours, origin


def official_state_dict(obj: Any) -> Optional[dict[str, Tensor]]:
    """Our state dict for an authors' checkpoint already loaded with ``torch.load``, or ``None``
    when ``obj`` is not one (so ``init_from`` can accept an authors' file). The architecture
    is detected from the keys (:func:`detect_format`)."""
    if not isinstance(obj, Mapping):
        return None
    state = _tensors(obj)
    fmt = detect_format(state)
    return None if fmt is None else convert(state, fmt)[0]


def infer_backbone(state: Mapping[str, Tensor]) -> str:
    """The timm trunk of an official state dict, from its blocks per stage."""
    blocks: dict[int, set[int]] = {}
    for key in state:
        m = re.search(r"(?:^|\.)layer([1-4])(?:_bak)?\.(\d+)\.", key)  # not resnext_layer1
        if m:
            blocks.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    layout = tuple(len(blocks.get(s, ())) for s in (1, 2, 3, 4))
    if layout not in _DEPTHS:
        raise OfficialCheckpointError(f"cannot tell the trunk from {layout} blocks per stage")
    depth = _DEPTHS[layout]
    if any(".convs." in k for k in state):
        return f"res2net{depth}_26w_4s"
    bottleneck = any(re.search(r"(?:^|\.)layer1(?:_bak)?\.0\..*conv3\.", k) for k in state)
    return f"resnet{depth}" if bottleneck else {"50": "resnet34", "18": "resnet18"}[depth]


def _check_segments(ours: Mapping[str, Tensor], arch: str, num_segments: int) -> None:
    for key, value in ours.items():  # TAM's global branch is Linear(T, 2T): T is in the file
        if arch == "tam" and key.endswith("global_branch.0.weight"):
            if value.shape[1] != num_segments:
                raise OfficialCheckpointError(
                    f"this TANet checkpoint was trained with num_segments={value.shape[1]} (its "
                    f"TAM takes {value.shape[1]} frames): pass num_segments={value.shape[1]}")
            return


#: where a file states its T: TSM's ``..._segment16_e45.pth``, mmaction2's ``..._1x1x16-...``,
#: TEA's ``tea50_16f``, TDN's README folders ``..._16x1x1``
_T_IN_TEXT = (r"segment(\d+)", r"1x1x(\d+)", r"(?<![\dx])(\d+)f(?![a-z])", r"(?<![\dx])(\d+)x1x1")


def declared_segments(path: Optional[PathLike], obj: Any = None) -> Optional[tuple[int, str]]:
    """T as an authors' file states it, with where: its ``num_segments``/``segments`` field,
    its ``arch`` field or its name (``segment16``, ``1x1x16``, ``16f``, ``16x1x1``); ``None``
    when it does not say (TANet's and TDN's ``ckpt.best.pth.tar``/``best.pth.tar``).

    >>> declared_segments("TSM_something_RGB_resnet50_shift8_blockres_avg_segment16_e45.pth")
    (16, "its name 'TSM_something_RGB_resnet50_shift8_blockres_avg_segment16_e45.pth'")
    >>> declared_segments("best.pth.tar", {"arch": "resnet50"}) is None
    True
    """
    if isinstance(obj, Mapping):
        for field in ("num_segments", "segments"):
            value = obj.get(field)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value, f"its {field!r} field ({value})"
        arch = obj.get("arch")
        if isinstance(arch, str):
            for pattern in _T_IN_TEXT:
                match = re.search(pattern, arch)
                if match:
                    return int(match.group(1)), f"its 'arch' field {arch!r}"
    if path is not None:
        name = os.path.basename(os.fspath(path))
        for pattern in _T_IN_TEXT:
            match = re.search(pattern, name)
            if match:
                return int(match.group(1)), f"its name {name!r}"
    return None


def check_declared_segments(declared: Optional[tuple[int, str]], arch: str, num_segments: int,
                            path: PathLike, evaluating: bool = True) -> None:
    """A file that states another T than the model's: an error for TDN when evaluating (its
    lateral fusion weights, 0.5/0.5 at T = 8 and 0.75/0.25 otherwise in the authors' code,
    follow T and are not in the weights), a warning otherwise (testing TSM at another T than
    it was trained with is legitimate; fine-tuning adapts)."""
    if declared is None or declared[0] == num_segments:
        return
    t, where = declared
    text = (f"{os.fspath(path)} says it was trained with num_segments={t} ({where}); the model "
            f"is built with num_segments={num_segments}")
    if arch == "tdn" and evaluating:
        raise OfficialCheckpointError(
            f"{text}. TDN's fusion weights follow T (0.5/0.5 at 8 frames, 0.75/0.25 otherwise) "
            f"and are not in the file: build it with num_segments={t} (the recipes "
            f"tdn_*_{t}x5_*)")
    warnings.warn(f"{text}: evaluating at another T than the training's (legitimate, but not "
                  "the authors' number)", stacklevel=3)


def _mismatch_message(path: str, fmt: OfficialFormat, detected: Optional[OfficialFormat],
                      leftover: list[str], missing: list[str]) -> str:
    def some(keys: list[str]) -> str:
        return ", ".join(keys[:8]) + (f" ... ({len(keys)} in all)" if len(keys) > 8 else "")

    text = (f"{path} does not load as {fmt.arch} ({fmt.source}): {len(leftover)} keys of the "
            f"file left over [{some(leftover)}], {len(missing)} keys of the model missing "
            f"[{some(missing)}]")
    if detected is not None and detected is not fmt:
        text += f". The file looks like {detected.arch} from {detected.source}"
    return text


def load_official(path: PathLike, arch: str, num_segments: int = 8, **kwargs: Any) -> nn.Module:
    """An authors' checkpoint as our model (see the module docstring), in eval mode.

    Args:
        path: the checkpoint file as the authors' code saved it.
        arch: ours: ``tsn``, ``tsm``, ``tam``, ``tdn``, ``tea`` or ``tcm``.
        num_segments: T the model is built for (TANet's checkpoints fix it). A file that
            states another T (:func:`declared_segments`) is an error for TDN and a warning
            for the others.
        **kwargs: to :func:`~lightning_vid.models.build_model`; ``backbone`` overrides the
            trunk inferred from the weights.

    Raises:
        OfficialCheckpointError: ``arch`` has no converter for this file's repository, or a key
            is left over, missing or of another shape (each named).
    """


    obj = read_checkpoint(path)
    check_declared_segments(declared_segments(path, obj), arch, num_segments, path)
    state = _tensors(obj)
    source = _MMACTION2 if any(k.startswith(("backbone.", "cls_head.")) for k in state) else None
    candidates = [f for f in FORMATS if f.arch == arch and (f.source == _MMACTION2) ==
                  (source == _MMACTION2)]
    if not candidates:
        known = sorted({f"{f.arch} ({f.source})" for f in FORMATS})
        raise OfficialCheckpointError(f"no converter for {arch!r} from "
                                      f"{source or 'the TSN code base'}; known: {', '.join(known)}")
    fmt = candidates[0]
    ours, origin = convert(state, fmt)
    if "fc.weight" not in ours:
        raise OfficialCheckpointError(f"{path}: no classifier found ({fmt.source} names it "
                                      "new_fc / cls_head.fc_cls)")
    _check_segments(ours, arch, num_segments)
    kwargs.setdefault("backbone", infer_backbone(state))
    model = build_model(arch, num_classes=int(ours["fc.weight"].shape[0]),
                        num_segments=num_segments, **kwargs)
    target = model.state_dict()
    leftover = sorted(origin[k] for k in ours if k not in target)
    missing = sorted(k for k in target if k not in ours)
    if leftover or missing:
        raise OfficialCheckpointError(_mismatch_message(
            os.fspath(path), fmt, detect_format(state), leftover, missing))
    for key, value in ours.items():
        if value.shape != target[key].shape:
            raise OfficialCheckpointError(
                f"{origin[key]} -> {key}: shape {tuple(value.shape)} in the file, "
                f"{tuple(target[key].shape)} in the model (built with {kwargs})")
    model.load_state_dict(ours, strict=True)
    return model.eval()
