"""The export helpers; the parity of every registered model's TorchScript and ONNX export with
eager mode is part of the model contract (tests/models/test_contract.py)."""

from lightning_vid.export import example_clip, export_torchscript
from lightning_vid.models import build_model


def test_export_leaves_the_model_in_its_mode(tmp_path):
    m = build_model("tsm", num_classes=3, num_segments=2, backbone="resnet18").train()
    export_torchscript(m, None, example_clip(m, batch=1, size=32))
    assert m.training
