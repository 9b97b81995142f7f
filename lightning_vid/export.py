"""Export of a video model with ``torch.export`` (``.pt2``) and the dynamo ONNX exporter, with
a parity check against eager mode.

Both formats capture the model in eval mode (dropout off, BN running statistics) on an example
clip ``(B, T*L, 3, H, W)`` with the batch axis dynamic (any batch size >= 1); the frame count
and frame size are fixed by the example (TRM's cTRM and TAM's G are built for them anyway).

- :func:`export_program`: ``torch.export.export``, saved with ``torch.export.save``; load it
  with ``torch.export.load(path).module()`` (no lightning_vid code needed).
- :func:`export_onnx`: ``torch.onnx.export(..., dynamo=True)`` (input ``clip``, output
  ``logits``), run with onnxruntime (:func:`run_onnx`). Needs the ``export`` extra:
  ``pip install lightning_vid[export]`` (``onnx``, ``onnxscript``, ``onnxruntime``).
- :func:`export_torchscript`: legacy, only when asked for (``--torchscript``).
  ``torch.jit.trace`` / ``save`` / ``load`` are deprecated since torch 2.14 ("Please switch to
  ``torch.compile`` or ``torch.export``"): this path silences that warning, because the
  caller chose it, and says so once on the command line.

Blocks that train with a Python autograd Function or in-place slice updates (TAM, TEA, TDN,
TCM's correlation) take an out-of-place path of the same values while a graph is captured
(``lightning_vid.blocks.ops.exportable``): a Python function call cannot be serialised, and
in-place updates of slices export slowly or wrongly (the known failure of in-place TSM ports).

``python -m lightning_vid.export CKPT --out DIR`` exports a trained checkpoint to
``DIR/model.pt2`` and ``DIR/model.onnx`` (and ``DIR/model.ts`` with ``--torchscript``) and
checks each against the eager model at the batch size asked for and at one more (the dynamic
batch axis).
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
def _eval(model: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd while a graph is captured; the model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _dynamic_batch(example: Tensor, dynamic_batch: bool
                   ) -> tuple[Tensor, Optional[tuple[dict[int, object]]]]:
    """The example to capture with and ``dynamic_shapes`` for the one positional input: its
    axis 0 named ``batch``. ``torch.export`` specialises a size of 1 (0/1 specialisation), so
    a batch-1 example is repeated to 2 for a dynamic batch (the program still takes 1)."""
    if not dynamic_batch:
        return example, None
    if len(example) == 1:
        example = example.expand(2, *example.shape[1:]).contiguous()
    return example, ({0: torch.export.Dim("batch", min=1, max=65536)},)


def export_program(model: nn.Module, path: Optional[PathLike], example: Tensor,
                   dynamic_batch: bool = True) -> torch.export.ExportedProgram:
    """``torch.export`` ``model`` (in eval mode) on ``example`` and save it to ``path`` (a
    ``.pt2`` file, if given).

    Returns:
        The exported program; ``torch.export.load(path).module()`` gives a module back without
        lightning_vid.
    """
    example, shapes = _dynamic_batch(example, dynamic_batch)
    with _eval(model):
        program = torch.export.export(model, (example,), dynamic_shapes=shapes)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.export.save(program, os.fspath(path))
    return program


def export_onnx(model: nn.Module, path: PathLike, example: Tensor, opset: Optional[int] = None,
                dynamic_batch: bool = True) -> Path:
    """Export ``model`` (in eval mode) to ONNX at ``path`` with the dynamo exporter (through
    ``torch.export``): input ``clip``, output ``logits``.

    Args:
        model: a video model ``(B, T*L, 3, H, W) -> (B, K)``.
        path: the ``.onnx`` file to write (the weights inside it).
        example: an example clip; fixes T*L, H and W.
        opset: the ONNX opset (``None``: the exporter's default, 18 with torch 2.14).
        dynamic_batch: keep the batch axis dynamic.
    """
    try:
        import onnxscript  # noqa: F401  the dynamo exporter's translation library
    except ImportError as err:  # pragma: no cover - depends on the extra
        raise ImportError("ONNX export needs the 'export' extra: "
                          "pip install lightning_vid[export]") from err
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    example, shapes = _dynamic_batch(example, dynamic_batch)
    with _eval(model), contextlib.redirect_stdout(io.StringIO()):  # its progress lines
        torch.onnx.export(model, (example,), os.fspath(path), dynamo=True, opset_version=opset,
                          input_names=["clip"], output_names=["logits"],
                          dynamic_shapes=shapes, external_data=False,
                          verbose=False)
    return path


def export_torchscript(model: nn.Module, path: Optional[PathLike], example: Tensor
                       ) -> torch.jit.ScriptModule:
    """Legacy: trace ``model`` (in eval mode) with ``torch.jit.trace`` on ``example`` and save
    it to ``path`` (if given). TorchScript is deprecated (torch 2.14); prefer
    :func:`export_program`. The batch axis of the traced module follows its input.

    Returns:
        The traced module; ``torch.jit.load(path)`` gives it back without lightning_vid.
    """
    with _eval(model), warnings.catch_warnings():
        # chosen by the caller: torch.jit's deprecation, and the warning at every Python
        # branch on a shape (the traced graph fixes them), are expected here
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*torch.jit.*")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        traced = torch.jit.trace(model, example, check_trace=False)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            torch.jit.save(traced, os.fspath(path))
    return traced


def load_torchscript(path: PathLike) -> torch.jit.ScriptModule:
    """Legacy: ``torch.jit.load(path)``, its deprecation warning silenced (see above)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=".*torch.jit.*")
        return torch.jit.load(os.fspath(path))


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
    with _eval(model):
        eager = model(clip)
    return float((exported.float() - eager.float()).abs().max())


def main(argv: Optional[list[str]] = None) -> None:
    """``python -m lightning_vid.export CKPT --out DIR [--size 224] [--batch 1] [--atol 1e-4]
    [--no-onnx] [--torchscript]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a VideoClassifier Lightning checkpoint")
    parser.add_argument("--out", required=True, help="folder for model.pt2 and model.onnx")
    parser.add_argument("--size", type=int, default=None,
                        help="frame size (default: the checkpoint's crop_size, else 224)")
    parser.add_argument("--batch", type=int, default=1,
                        help="the example's batch size; parity is also checked at batch + 1")
    parser.add_argument("--atol", type=float, default=1e-4,
                        help="largest |exported - eager| logit difference accepted")
    parser.add_argument("--no-onnx", action="store_true", help="no model.onnx")
    parser.add_argument("--torchscript", action="store_true",
                        help="also the legacy TorchScript model.ts (deprecated by torch)")
    args = parser.parse_args(argv)
    from lightning_vid.checkpoint import load_checkpoint

    system = load_checkpoint(args.checkpoint)
    model = system.model.eval()
    size = args.size or int(system.data_config.get("crop_size") or 224)
    clip = example_clip(model, args.batch, size)
    clips = (clip, example_clip(model, args.batch + 1, size))  # the dynamic batch axis too
    out = Path(args.out)
    runners = {"torch.export": export_program(model, out / "model.pt2", clip).module()}
    if not args.no_onnx:
        export_onnx(model, out / "model.onnx", clip)
        runners["onnx"] = lambda c: run_onnx(out / "model.onnx", c)
    if args.torchscript:
        print("torchscript: legacy (torch.jit is deprecated since torch 2.14)")
        runners["torchscript"] = export_torchscript(model, out / "model.ts", clip)
    diffs = {}
    with torch.no_grad():
        for name, run in runners.items():
            diffs[name] = max(max_abs_diff(run(c), model, c) for c in clips)
    for name, diff in diffs.items():
        print(f"{name}: max |exported - eager| = {diff:.2e} (batch {args.batch} and "
              f"{args.batch + 1})")
    if any(d > args.atol for d in diffs.values()):
        raise SystemExit(f"parity check failed (atol {args.atol})")


if __name__ == "__main__":  # pragma: no cover
    main()
