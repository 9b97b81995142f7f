"""The compiled model computes what the eager one does, for every registered architecture, in
training (logits, every gradient, the BN running statistics after the step) and in evaluation.

The comparison runs in float64 and asks for agreement to 1e-9 of each tensor's magnitude:
in float32 the compiled graph's different summation order gives differences of 1e-6 of the
logits that grow with depth and vary with the thread count, so no float32 tolerance is both
tight and safe on every machine; in float64 the same reordering stays below 1e-12.

The backend is ``aot_eager_decomp_partition``: the compile pipeline up to the code generator
(Dynamo's graph capture, AOTAutograd's functionalisation and backward graph, inductor's
decompositions and the forward/backward partition), run with eager kernels. That is where a
module can go wrong under compile (TCM's correlation did: its hand-written backward writes
through an ``as_strided`` view that AOTAutograd cannot functionalise), and it takes seconds
where inductor's C++ code generation takes minutes per model on 2 cores; inductor itself
compiles a model in the command test (tests/test_cli_compile.py) and in
``scripts/bench_speed.py --compile``, which checks the logits before it times them."""

import copy

import pytest
import torch
from torch import nn

from test_compile import ARCHS, tiny_clip, tiny_model

BACKEND = "aot_eager_decomp_partition"
RTOL = 1e-9  # of each tensor's largest magnitude, float64


def _awake(model: nn.Module) -> nn.Module:
    """Every weight moved off its initialisation (timm's zero last BN, identity-initialised
    blocks such as TRM's predictor would hide the blocks otherwise)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.05)
    return model


def _assert_close(compiled: torch.Tensor, eager: torch.Tensor, what: str,
                  scale: float = 0.0) -> None:
    """Within ``RTOL`` of the larger of ``eager``'s magnitude and ``scale``."""
    scale = max(float(eager.abs().max()), scale, 1e-30)
    diff = float((compiled - eager).abs().max())
    assert diff <= RTOL * scale, f"{what}: max |compiled - eager| = {diff:.3g} of {scale:.3g}"


@pytest.mark.parametrize("arch", ARCHS)
def test_compiled_model_matches_eager_in_training_and_evaluation(arch):
    eager = _awake(tiny_model(arch)).double()
    compiled = copy.deepcopy(eager)
    compiled.compile(backend=BACKEND)  # in place: the same parameter names
    torch._dynamo.reset()
    clip = tiny_clip(eager, dtype=torch.float64)
    target = torch.tensor([1, 3])
    logits = []
    for model in (eager, compiled):
        model.train()
        model.zero_grad()
        nn.functional.cross_entropy(model(clip), target).backward()
        logits.append(model(clip).detach())  # again, with the BN statistics it updated
    _assert_close(logits[1], logits[0], "train logits")
    buffers = dict(compiled.named_buffers())
    for name, b in eager.named_buffers():
        if b.is_floating_point():
            _assert_close(buffers[name], b, name)
    grads = {n: p.grad for n, p in compiled.named_parameters()}
    # a gradient that is zero in exact arithmetic (TDN's pooled_bn bias: a per-channel
    # constant that the training-mode BN after it subtracts again) is rounding noise of the
    # others (1e-18 here): scaled to the largest gradient
    largest = max(float(p.grad.abs().max()) for p in eager.parameters() if p.grad is not None)
    for name, p in eager.named_parameters():
        assert (p.grad is None) == (grads[name] is None), name
        if p.grad is not None:
            _assert_close(grads[name], p.grad, f"grad of {name}", largest)
    eager.eval(), compiled.eval()
    with torch.no_grad():
        _assert_close(compiled(clip), eager(clip), "eval logits")
