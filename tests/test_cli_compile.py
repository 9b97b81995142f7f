"""``lightning-vid fit --model.compile true``: the installed command trains and validates a
compiled model (inductor), and its checkpoint has the eager model's keys, loadable without
compile in a fresh process. (Graph breaks and compiled/eager parity of every architecture:
tests/models/test_compile*.py.)"""

import os
import subprocess
import sys
from pathlib import Path

import torch

from lightning_vid.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_fit_with_compile_from_the_command_keeps_the_eager_checkpoint_keys(synthetic_data,
                                                                           tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", TORCHINDUCTOR_COMPILE_THREADS="1",
               TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "inductor"))
    done = subprocess.run(
        [str(BIN / "lightning-vid"), "fit", "--config",
         str(ROOT / "lightning_vid/configs/tsm_r18_4x1_synthetic.yaml"), "--model.compile", "true",
         "--data.root", synthetic_data, "--run_name", "compiled", "--data.batch_size=2",
         "--data.num_workers=0", "--data.crop_size=32", "--data.scale_size=32",
         "--trainer.max_epochs=1", "--trainer.limit_train_batches=2",
         "--trainer.limit_val_batches=1", "--trainer.enable_progress_bar=false",
         "--trainer.enable_model_summary=false", "--trainer.logger=false"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert any((tmp_path / "inductor").rglob("*.py")), "no inductor code: not compiled"
    [ckpt] = (tmp_path / "runs/compiled").glob("version_0/checkpoints/last.ckpt")
    saved = torch.load(ckpt, map_location="cpu", weights_only=False)
    assert saved["hyper_parameters"]["compile"] is True
    keys = set(saved["state_dict"])
    assert not [k for k in keys if "_orig_mod" in k]
    system = load_checkpoint(ckpt)  # rebuilt eager from the checkpoint alone, strict keys
    assert {f"model.{k}" for k in system.model.state_dict()} == {
        k for k in keys if k.startswith("model.")}
    assert getattr(system.model, "_compiled_call_impl", None) is None
    clip = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.isfinite(system(clip)).all()
