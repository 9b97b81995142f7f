"""``torch.compile`` of every registered architecture: one graph, no graph break, in training
and evaluation (counted by ``torch._dynamo.explain``), and the compiled model computes what
the eager one does, logits, gradients and BN statistics (tests/models/test_compile_parity.py).
The ``--model.compile true`` switch through the command: tests/test_cli_compile.py."""

import pytest
import torch

from lightning_vid.models import build_model, get_architecture, list_models

ARCHS = list_models()


def tiny_model(arch: str, **options) -> torch.nn.Module:
    """``arch`` on ResNet-18 (TEA: its Res2Net trunk), 2 segments of 32 px, no dropout."""
    spec = get_architecture(arch)
    backbone = "resnet18" if spec.accepts("resnet18") else spec.backbone
    torch.manual_seed(0)
    return build_model(arch, num_classes=5, num_segments=2, backbone=backbone, input_size=32,
                       dropout=0.0, **options)


def tiny_clip(model: torch.nn.Module, batch: int = 2, dtype=torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, model.num_segments * model.frames_per_segment, 3, 32, 32,
                       generator=g, dtype=dtype)


@pytest.mark.parametrize("arch", ARCHS)
def test_compiles_to_one_graph_without_graph_breaks(arch):
    model = tiny_model(arch)
    clip = tiny_clip(model)
    for mode in ("train", "eval"):
        getattr(model, mode)()
        torch._dynamo.reset()
        explained = torch._dynamo.explain(model)(clip)
        assert explained.graph_break_count == 0, (mode, explained.break_reasons)
        assert explained.graph_count == 1, mode
