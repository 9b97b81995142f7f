"""The export helpers; the parity of every registered model's torch.export, ONNX and TorchScript
exports with eager mode is part of the model contract (tests/models/test_contract.py)."""

import torch

from lightning_vid.export import example_clip, export_program, export_torchscript, max_abs_diff
from lightning_vid.models import build_model


def test_export_leaves_the_model_in_its_mode(tmp_path):
    m = build_model("tsm", num_classes=3, num_segments=2, backbone="resnet18").train()
    export_torchscript(m, None, example_clip(m, batch=1, size=32))
    assert m.training


def test_a_batch_of_one_exports_with_a_dynamic_batch(tmp_path):
    """torch.export specialises a size of 1: the exporter captures a batch-1 example at batch
    2, and the program runs at batch 1 and 3 (the command's default example is batch 1)."""
    m = build_model("tsn", num_classes=3, num_segments=2, backbone="resnet18").eval()
    export_program(m, tmp_path / "model.pt2", example_clip(m, batch=1, size=32))
    loaded = torch.export.load(str(tmp_path / "model.pt2")).module()
    for batch in (1, 3):
        clip = example_clip(m, batch=batch, size=32)
        with torch.no_grad():
            assert loaded(clip).shape == (batch, 3)
            scale = float(m(clip).abs().max())
            assert max_abs_diff(loaded(clip), m, clip) <= 1e-5 * max(1.0, scale)
