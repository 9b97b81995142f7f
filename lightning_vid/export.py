"""TorchScript and ONNX export of a video model, with a parity check against eager mode.

Both formats are *traced* with an example clip ``(B, T*L, 3, H, W)``: ``torch.jit.trace`` for
TorchScript and the TorchScript-based ONNX exporter (``dynamo=False``, opset 17), which
handles every model of the zoo; the batch axis stays dynamic in ONNX, the frame count and
frame size are fixed by the example (TRM's cTRM and TAM's G are built for them anyway).
Blocks that train with a Python autograd Function or in-place slice updates (TAM, TEA, TDN,
TCM's correlation) take an out-of-place path of the same values while
``torch.jit.is_tracing()``: a Python function call cannot be serialised, and in-place updates
of slices export slowly or wrongly (the known failure of in-place TSM ports).

The model is exported in eval mode (dropout off, BN running statistics). ONNX needs the
``export`` extra: ``pip install lightning_vid[export]`` (``onnx``, ``onnxruntime``).

``python -m lightning_vid.export CKPT --out DIR`` exports a trained checkpoint to
``DIR/model.ts`` and ``DIR/model.onnx`` and checks both against the eager model.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import warnings
from pathlib import Path
from typing import Iterator, Optional, Union

import torch
from torch import Tensor, nn

PathLike = Union[str, "os.PathLike[str]"]


def example_clip(model: nn.Module, batch: int = 2, size: int = 224) -> Tensor:
    """A random ``(batch, T*L, 3, size, size)`` clip for ``model``'s T and L."""
    frames = model.num_segments * getattr(model, "frames_per_segment", 1)
    return torch.randn(batch, frames, 3, size, size)


@contextlib.contextmanager
def _tracing(model: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd while tracing; tracing warns at every Python branch on a
    shape (the exported graph fixes them), which is expected here and silenced."""
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*TorchScript-based ONNX export.*")
            warnings.filterwarnings("ignore", message="Constant folding")
            yield
    finally:
        model.train(was_training)


def export_torchscript(model: nn.Module, path: Optional[PathLike], example: Tensor
                       ) -> torch.jit.ScriptModule:
    """Trace ``model`` (in eval mode) on ``example`` and save it to ``path`` (if given).

    Returns:
        The traced module; ``torch.jit.load(path)`` gives it back without lightning_vid.
    """
    with _tracing(model):
        traced = torch.jit.trace(model, example, check_trace=False)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.jit.save(traced, os.fspath(path))
    return traced


def export_onnx(model: nn.Module, path: PathLike, example: Tensor, opset: int = 17,
                dynamic_batch: bool = True) -> Path:
    """Export ``model`` (in eval mode) to ONNX at ``path``: input ``clip``, output ``logits``.

    Args:
        model: a video model ``(B, T*L, 3, H, W) -> (B, K)``.
        path: the ``.onnx`` file to write.
        example: an example clip; fixes T*L, H and W.
        opset: the ONNX opset (17).
        dynamic_batch: keep the batch axis dynamic.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {"clip": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None
    with _tracing(model):
        torch.onnx.export(model, (example,), os.fspath(path), opset_version=opset,
                          input_names=["clip"], output_names=["logits"], dynamic_axes=axes,
                          dynamo=False)
    return path


def run_onnx(path: PathLike, clip: Tensor) -> Tensor:
    """Logits of the ONNX model at ``path`` for ``clip``, with onnxruntime on the CPU."""
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover - depends on the extra
        raise ImportError("ONNX inference needs the 'export' extra: "
                          "pip install lightning_vid[export]") from err
    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(["logits"], {"clip": clip.detach().cpu().numpy()})
    return torch.from_numpy(out)


def max_abs_diff(exported: Tensor, model: nn.Module, clip: Tensor) -> float:
    """The largest absolute difference between ``exported`` logits and eager ``model``'s."""
    with _tracing(model):
        eager = model(clip)
    return float((exported.float() - eager.float()).abs().max())


def main(argv: Optional[list[str]] = None) -> None:
    """``python -m lightning_vid.export CKPT --out DIR [--size 224] [--atol 1e-4]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a VideoClassifier Lightning checkpoint")
    parser.add_argument("--out", required=True, help="folder for model.ts and model.onnx")
    parser.add_argument("--size", type=int, default=None,
                        help="frame size (default: the checkpoint's crop_size, else 224)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--atol", type=float, default=1e-4)
    parser.add_argument("--no-onnx", action="store_true", help="TorchScript only")
    args = parser.parse_args(argv)
    from lightning_vid.checkpoint import load_checkpoint

    system = load_checkpoint(args.checkpoint)
    model = system.model.eval()
    size = args.size or int(system.data_config.get("crop_size") or 224)
    clip = example_clip(model, args.batch, size)
    out = Path(args.out)
    traced = export_torchscript(model, out / "model.ts", clip)
    with torch.no_grad():
        diffs = {"torchscript": max_abs_diff(traced(clip), model, clip)}
    if not args.no_onnx:
        export_onnx(model, out / "model.onnx", clip)
        diffs["onnx"] = max_abs_diff(run_onnx(out / "model.onnx", clip), model, clip)
    for name, diff in diffs.items():
        print(f"{name}: max |exported - eager| = {diff:.2e}")
    if any(d > args.atol for d in diffs.values()):
        raise SystemExit(f"parity check failed (atol {args.atol})")


if __name__ == "__main__":  # pragma: no cover
    main()
