"""Scale: a 2-process DDP fit and test on the CPU (gloo), each video scored exactly once
(resuming a stopped run: tests/test_resume.py).

The runs that matter go through the CLI in subprocesses, as a user or a cluster would start
them; the callbacks below are loaded there from this file (``PYTHONPATH`` = this folder).
Each test prints what it saw (``pytest -rP`` shows it).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch

from lightning_vid.data.synthetic import generate

HERE = Path(__file__).resolve().parent
CONFIG = str(HERE.parent / "lightning_vid/configs/tsm_r18_4x1_synthetic.yaml")
TINY = ["--data.batch_size=4", "--data.num_workers=0", "--data.crop_size=32",
        "--data.scale_size=32", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false", "--trainer.logger=false",
        "--trainer.num_sanity_val_steps=0"]


class RecordSamples(L.Callback):
    """Writes, per rank, the indices and predictions of the samples each evaluation scored
    to ``{out}/{stage}_rank{r}.json``, and rank 0's logged metrics to
    ``{out}/{stage}_metrics.json``."""

    def __init__(self, out: str) -> None:
        self.out = Path(out)
        self.seen: dict[str, dict[str, list]] = {}

    def _record(self, stage, pl_module, batch):
        with torch.no_grad():
            pred = pl_module(batch["clip"]).argmax(-1)
        seen = self.seen.setdefault(stage, {"index": [], "correct": []})
        seen["index"] += batch["index"].tolist()
        seen["correct"] += (pred == batch["label"]).tolist()

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dl_idx=0):
        if not trainer.sanity_checking:
            self._record("val", pl_module, batch)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dl_idx=0):
        self._record("test", pl_module, batch)

    def on_validation_end(self, trainer, pl_module):
        self._write(trainer, "val")

    def on_test_end(self, trainer, pl_module):
        self._write(trainer, "test")

    def _write(self, trainer, stage):
        self.out.mkdir(parents=True, exist_ok=True)
        seen = self.seen.pop(stage, {"index": [], "correct": []})
        (self.out / f"{stage}_rank{trainer.global_rank}.json").write_text(json.dumps(seen))
        if trainer.global_rank == 0:  # the metrics as logged: synchronised over the ranks
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                       if k.startswith(stage + "/")}
            (self.out / f"{stage}_metrics.json").write_text(json.dumps(metrics))


def _env():
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path, WANDB_MODE="offline", OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    env.pop("LOCAL_RANK", None)
    return env


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # odd validation and test sizes: a padding sampler would score one video twice
    return str(generate(tmp_path_factory.mktemp("synthetic"), num_train=16, num_val=7,
                        num_test=9, size=32, frames=16, workers=1, verbose=False))


DRIVER = """
import sys
from lightning_vid.cli import cli_main
cli = cli_main(["fit", *sys.argv[1:]])
cli.trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)
"""


def test_ddp_fit_and_test_score_every_video_exactly_once(data, tmp_path):
    (tmp_path / "driver.py").write_text(DRIVER)
    out = tmp_path / "seen"
    callbacks = json.dumps([{"class_path": "test_scale.RecordSamples",
                             "init_args": {"out": str(out)}}])
    cmd = [sys.executable, "driver.py", "--config", CONFIG, "--data.root", data, *TINY,
           "--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.strategy=ddp",
           "--trainer.max_epochs=1", "--trainer.limit_train_batches=1",
           "--trainer.enable_checkpointing=false",
           f"--trainer.callbacks={callbacks}"]
    run = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    for stage, size in (("val", 7), ("test", 9)):
        metrics = json.loads((out / f"{stage}_metrics.json").read_text())
        ranks = [json.loads((out / f"{stage}_rank{r}.json").read_text()) for r in (0, 1)]
        indices = sorted(i for seen in ranks for i in seen["index"])
        print(f"{stage}: rank 0 scored {ranks[0]['index']}, rank 1 {ranks[1]['index']}; "
              f"{stage}/acc1 logged {metrics[f'{stage}/acc1']:.4f}, from the predictions "
              f"{sum(c for seen in ranks for c in seen['correct'])}/{size}")
        assert indices == list(range(size)), f"{stage}: {indices}"  # each video exactly once
        correct = [c for seen in ranks for c in seen["correct"]]
        assert metrics[f"{stage}/acc1"] == pytest.approx(sum(correct) / size)
