"""Training-recipe helpers: parameter groups, warm-up schedules, linear lr scaling, BN freezing.

Everything here is a pure function (or a plain scheduler class) over a built model and
optimizer; :class:`lightning_vid.system.VideoClassifier` wires them from its options.

Parameter groups (reference-notes.md 1.4; the authors' ``get_optim_policies``):

======================  =====================  ==========  ============  ==================
group                   parameters             ``tsn``     ``no_decay``  ``uniform``
======================  =====================  ==========  ============  ==================
``weight``              conv / linear weights  lr 1, wd 1  lr 1, wd 1    lr 1, wd 1 (all)
``bias``                conv / linear biases   lr 2, wd 0  lr 1, wd 0
``norm``                BN / GN / LN affine    lr 1, wd 0  lr 1, wd 0
``lr5_weight``          boosted linear weight  lr 5, wd 1  lr 5, wd 1
``lr10_bias``           boosted linear bias    lr 10, wd 0 lr 10, wd 0
======================  =====================  ==========  ============  ==================

``tsn`` is the rule of TSN, TSM, TAM, TEA and TCM's code (and mmaction2's
``TSMOptimWrapperConstructor``); ``uniform`` is what TDN's code effectively does (its groups
carry multipliers it never applies, 6.6); ``no_decay`` only removes weight decay from biases
and norms. Parameters of other modules (TEA's and TDN's temporal conv weights) count as conv
weights when they have two or more dimensions, as biases otherwise. ``fc_lr5`` (on when
training from ImageNet, off when fine-tuning) boosts ``"classifier"``, the head named
``classifier`` (TEA's rule "out_features == num_classes", mmaction2's head), or
``"all_linear"``, every ``nn.Linear`` (TSM's and TAM's code: TAM's G layers too, 4.4).
Frozen parameters (``requires_grad=False``, e.g. by :func:`freeze_batchnorm`) are left out.

The groups carry ``lr_mult`` and ``decay_mult``; :func:`apply_multipliers` turns them into
each group's ``lr`` and ``weight_decay`` once the optimizer is built.

>>> model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
>>> for g in param_groups(model, "tsn", fc_lr5="all_linear"):
...     print(g["name"], len(g["params"]), g["lr_mult"], g["decay_mult"])
weight 1 1.0 1.0
bias 1 2.0 0.0
norm 2 1.0 0.0
lr5_weight 1 5.0 1.0
lr10_bias 1 10.0 0.0
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Any, Literal, Optional, Sequence

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

Policy = Literal["tsn", "no_decay", "uniform"]
FcLr5 = Optional[Literal["classifier", "all_linear"]]  # None: no boost
BNFreeze = Literal["none", "partial", "all"]

NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
#: (lr_mult, decay_mult) per group and policy; see the module docstring.
MULTIPLIERS: dict[str, dict[str, tuple[float, float]]] = {
    "tsn": {"weight": (1, 1), "bias": (2, 0), "norm": (1, 0), "lr5_weight": (5, 1),
            "lr10_bias": (10, 0)},
    "no_decay": {"weight": (1, 1), "bias": (1, 0), "norm": (1, 0), "lr5_weight": (5, 1),
                 "lr10_bias": (10, 0)},
}


def _boosted(name: str, module: nn.Module, fc_lr5: FcLr5, classifier: str) -> bool:
    if not isinstance(module, nn.Linear) or fc_lr5 is None:
        return False
    return fc_lr5 == "all_linear" or name == classifier


def param_groups(
    model: nn.Module, policy: Policy = "tsn", fc_lr5: FcLr5 = None, classifier: str = "fc"
) -> list[dict[str, Any]]:
    """The trainable parameters of ``model`` split into named groups (module docstring).

    Args:
        model: any module; each parameter is classified by the module that owns it.
        policy: ``"tsn"``, ``"no_decay"`` or ``"uniform"`` (one group, every multiplier 1).
        fc_lr5: ``"classifier"`` or ``"all_linear"``: which ``nn.Linear`` layers get lr x5
            (weight) and x10 (bias); ``None``: none. Ignored by ``"uniform"``.
        classifier: the dotted name of the head for ``fc_lr5="classifier"``.

    Returns:
        Non-empty groups ``{"name", "params", "lr_mult", "decay_mult"}``, in the table's order.
    """
    if policy == "uniform":
        params = [p for p in model.parameters() if p.requires_grad]
        return [{"name": "all", "params": params, "lr_mult": 1.0, "decay_mult": 1.0}]
    if policy not in MULTIPLIERS:
        raise ValueError(f"unknown policy {policy!r}; valid: tsn, no_decay, uniform")
    if fc_lr5 not in (None, "classifier", "all_linear"):
        raise ValueError(f"unknown fc_lr5 {fc_lr5!r}; valid: None, classifier, all_linear")
    buckets: dict[str, list[nn.Parameter]] = {name: [] for name in MULTIPLIERS[policy]}
    for name, module in model.named_modules():
        boosted = _boosted(name, module, fc_lr5, classifier)
        for pname, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            if isinstance(module, NORM_TYPES):
                group = "norm"
            elif pname == "bias" or p.ndim < 2:
                group = "lr10_bias" if boosted else "bias"
            else:
                group = "lr5_weight" if boosted else "weight"
            buckets[group].append(p)
    return [
        {"name": g, "params": ps, "lr_mult": float(MULTIPLIERS[policy][g][0]),
         "decay_mult": float(MULTIPLIERS[policy][g][1])}
        for g, ps in buckets.items() if ps
    ]


def apply_multipliers(optimizer: Optimizer) -> Optimizer:
    """Multiply each group's ``lr`` and ``weight_decay`` by its ``lr_mult``/``decay_mult``
    (once: the multipliers are then set to 1, so calling it again changes nothing)."""
    for group in optimizer.param_groups:
        group["lr"] = group["lr"] * group.get("lr_mult", 1.0)
        if "weight_decay" in group:
            group["weight_decay"] = group["weight_decay"] * group.get("decay_mult", 1.0)
        group["lr_mult"] = group["decay_mult"] = 1.0
    return optimizer


def scale_lr(optimizer: Optimizer, factor: float) -> Optimizer:
    """Multiply every group's ``lr`` by ``factor`` (before any scheduler is built)."""
    for group in optimizer.param_groups:
        group["lr"] = group["lr"] * factor
    return optimizer


def linear_scaling_factor(global_batch: int, reference_batch: int) -> float:
    """Goyal et al.'s linear rule, as TSM's README asks: lr x ``global / reference``.

    >>> linear_scaling_factor(32, 64)
    0.5
    """
    if global_batch < 1 or reference_batch < 1:
        raise ValueError(f"batch sizes must be >= 1, got {global_batch} and {reference_batch}")
    return global_batch / reference_batch


def global_batch_size(per_device: int, world_size: int = 1, accumulate: int = 1) -> int:
    """Clips per optimizer step over all devices and accumulated batches.

    >>> global_batch_size(8, world_size=4, accumulate=2)
    64
    """
    return per_device * world_size * accumulate


class WarmupSchedule(LRScheduler):
    """Linear warm-up, then multistep, cosine or constant; stepped every optimizer step.

    The factor applied to each group's initial lr at epoch position ``e`` is
    ``warmup(e) * decay(e)`` with ``warmup(e) = s + (1 - s) * min(1, e / warmup_epochs)`` and

    - ``"multistep"``: ``gamma ** (number of milestones <= e)`` (TSN/TSM/TAM/TEA/TCM/TDN);
    - ``"cosine"``: ``m + (1 - m) * (1 + cos(pi * (e - w) / (max_epochs - w))) / 2`` after the
      warm-up ``w`` (TSM's ``--lr_type cos``), ``m = eta_min_factor``;
    - ``"constant"``: 1.

    ``e = step / steps_per_epoch`` when ``per_iteration`` (the lr moves every step, TDN's
    per-iteration MultiStepLR), else ``floor(step / steps_per_epoch)`` (the lr changes at
    epoch starts only, the authors' ``adjust_learning_rate``). With integer milestones both
    give the same multistep drops. Lightning steps it with ``interval: step``;
    :class:`~lightning_vid.system.VideoClassifier` calls :meth:`bind` with the real
    ``steps_per_epoch`` (and ``max_epochs`` when unset) before training.

    >>> opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> s = WarmupSchedule(opt, milestones=[2], warmup_epochs=1, warmup_start_factor=0.0)
    >>> s.bind(steps_per_epoch=2)
    >>> lrs = []
    >>> for _ in range(6):
    ...     lrs.append(opt.param_groups[0]["lr"]); opt.step(); s.step()
    >>> lrs
    [0.0, 0.5, 1.0, 1.0, 0.1, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        decay: Literal["multistep", "cosine", "constant"] = "multistep",
        milestones: Sequence[float] = (),
        gamma: float = 0.1,
        warmup_epochs: float = 0.0,
        warmup_start_factor: float = 0.1,
        max_epochs: Optional[float] = None,
        eta_min_factor: float = 0.0,
        per_iteration: bool = True,
        steps_per_epoch: int = 1,
        last_epoch: int = -1,
    ) -> None:
        if decay not in ("multistep", "cosine", "constant"):
            raise ValueError(f"unknown decay {decay!r}; valid: multistep, cosine, constant")
        if warmup_epochs < 0 or not 0.0 <= warmup_start_factor <= 1.0:
            raise ValueError("need warmup_epochs >= 0 and 0 <= warmup_start_factor <= 1")
        self.decay = decay
        self.milestones = sorted(float(m) for m in milestones)
        self.gamma = gamma
        self.warmup_epochs = float(warmup_epochs)
        self.warmup_start_factor = warmup_start_factor
        self.max_epochs = max_epochs
        self.eta_min_factor = eta_min_factor
        self.per_iteration = per_iteration
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        super().__init__(optimizer, last_epoch)

    def bind(self, steps_per_epoch: int, max_epochs: Optional[float] = None) -> None:
        """Set the optimizer steps per epoch (and ``max_epochs`` if the config left it unset)."""
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        if self.max_epochs is None and max_epochs is not None and max_epochs > 0:
            self.max_epochs = float(max_epochs)
        self._set_lrs()

    def epoch_position(self, step: int) -> float:
        """The (fractional when ``per_iteration``) epoch of optimizer step ``step``."""
        e = step / self.steps_per_epoch
        return e if self.per_iteration else float(math.floor(e))

    def factor(self, step: int) -> float:
        """The multiplier of the initial lr at optimizer step ``step``."""
        e = self.epoch_position(step)
        warm = 1.0
        if self.warmup_epochs > 0 and e < self.warmup_epochs:
            s = self.warmup_start_factor
            warm = s + (1.0 - s) * e / self.warmup_epochs
        if self.decay == "multistep":
            return warm * self.gamma ** bisect_right(self.milestones, e)
        if self.decay == "cosine":
            if self.max_epochs is None:  # not bound yet (the lr at step 0 does not need it)
                return warm
            span = max(self.max_epochs - self.warmup_epochs, 1e-12)
            progress = min(max((e - self.warmup_epochs) / span, 0.0), 1.0)
            m = self.eta_min_factor
            return warm * (m + (1.0 - m) * 0.5 * (1.0 + math.cos(math.pi * progress)))
        return warm

    def get_lr(self) -> list[float]:
        f = self.factor(self.last_epoch)
        return [base * f for base in self.base_lrs]

    def _set_lrs(self) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


def freeze_batchnorm(model: nn.Module, mode: BNFreeze = "partial") -> list[nn.Module]:
    """Freeze batch norms: their affine parameters stop training (``requires_grad=False``).

    Args:
        model: any module.
        mode: ``"partial"``: every BN but the first one (TSN's partial BN; the first is the
            trunk's ``bn1``); ``"all"``: every BN (fine-tuning on a small dataset); ``"none"``.

    Returns:
        The frozen BN modules. Keep them in eval mode while training (running statistics
        frozen too) with :func:`set_eval`, as :class:`~lightning_vid.system.VideoClassifier`
        does in ``train()``.
    """
    if mode not in ("none", "partial", "all"):
        raise ValueError(f"unknown mode {mode!r}; valid: none, partial, all")
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    frozen = [] if mode == "none" else bns[1:] if mode == "partial" else bns
    for m in frozen:
        for p in m.parameters(recurse=False):
            p.requires_grad_(False)
    return frozen


def set_eval(modules: Sequence[nn.Module]) -> None:
    """Put ``modules`` in eval mode (frozen running statistics)."""
    for m in modules:
        m.eval()
