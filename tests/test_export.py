"""TorchScript and ONNX export of every model: exported outputs equal eager outputs."""

import pytest
import torch

from lightning_vid.export import (example_clip, export_onnx, export_torchscript, max_abs_diff,
                                  run_onnx)
from lightning_vid.models import build_model, list_models

ATOL = 1e-5  # float32 logits of order 1e-3 (fc initialised N(0, 0.001))


@pytest.fixture(scope="module", params=list_models())
def model(request):
    """A tiny trained-looking model: random weights, BN statistics from a few train steps,
    so the export must use them (eval mode) and not batch statistics."""
    torch.manual_seed(0)
    m = build_model(request.param, num_classes=5, num_segments=4, backbone="resnet18",
                    input_size=32)
    with torch.no_grad():
        m.fc.weight.normal_(0, 0.1)  # logits of order 1, so ATOL is a real bound
        m.train()(example_clip(m, batch=3, size=32))
    return m.eval()


def test_torchscript_matches_eager(model, tmp_path):
    clip = example_clip(model, batch=2, size=32)
    export_torchscript(model, tmp_path / "model.ts", clip)
    loaded = torch.jit.load(str(tmp_path / "model.ts"))  # no lightning_vid code needed
    for batch in (clip, example_clip(model, batch=3, size=32)):
        with torch.no_grad():
            assert max_abs_diff(loaded(batch), model, batch) < ATOL


def test_onnx_matches_eager_with_a_dynamic_batch(model, tmp_path):
    pytest.importorskip("onnxruntime")
    clip = example_clip(model, batch=2, size=32)
    path = export_onnx(model, tmp_path / "model.onnx", clip)
    for batch in (clip, example_clip(model, batch=3, size=32)):
        assert max_abs_diff(run_onnx(path, batch), model, batch) < ATOL


def test_export_leaves_the_model_in_its_mode(tmp_path):
    m = build_model("tsm", num_classes=3, num_segments=2, backbone="resnet18").train()
    export_torchscript(m, None, example_clip(m, batch=1, size=32))
    assert m.training
