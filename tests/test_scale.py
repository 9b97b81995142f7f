"""Scale: a 2-process DDP fit and test on the CPU (gloo), and resuming a run killed mid-epoch.

The runs that matter go through the CLI in subprocesses, as a user or a cluster would start
them; the callbacks below are loaded there from this file (``PYTHONPATH`` = this folder).
Each test prints what it saw (``pytest -rP`` shows it).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from lightning_vid.cli import cli_main
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


class Interruptible(L.Callback):
    """Writes a JSON line at the start of training (momentum sum, scheduler state) and one per
    training batch (its sample indices); at ``(epoch, batch)`` prints READY and waits (60 s at
    most) for the SIGTERM the test sends, after which Lightning stops the run."""

    def __init__(self, out: str, epoch: int = -1, batch: int = -1) -> None:
        self.out, self.at = Path(out), (epoch, batch)

    def _write(self, record: dict) -> None:
        with open(self.out, "a") as f:
            f.write(json.dumps(record) + "\n")

    def on_train_start(self, trainer, pl_module):
        optimizer = trainer.optimizers[0].state_dict()
        self._write({"momentum": _momentum(optimizer) if optimizer["state"] else None,
                     "scheduler": trainer.lr_scheduler_configs[0].scheduler.state_dict()})

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._write({"epoch": trainer.current_epoch, "batch": batch_idx,
                     "step": trainer.global_step, "index": batch["index"].tolist()})
        if (trainer.current_epoch, batch_idx) == self.at:
            print("READY", flush=True)
            deadline = time.time() + 60
            while not trainer.received_sigterm and time.time() < deadline:
                time.sleep(0.05)


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


def _fit_args(data, log, *extra, stop_at=(-1, -1)):
    """``fit`` for 2 epochs of 4 batches; checkpoints as the recipes save them: ``last.ckpt``
    at every epoch end and on any exception (the SIGTERM included)."""
    callbacks = json.dumps([
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
         "init_args": {"dirpath": "ckpt", "save_last": True, "save_on_exception": True}},
        {"class_path": "test_scale.Interruptible",
         "init_args": {"out": str(log), "epoch": stop_at[0], "batch": stop_at[1]}}])
    return ["fit", "--config", CONFIG, "--data.root", data, *TINY, "--trainer.max_epochs=2",
            "--trainer.limit_train_batches=4", "--trainer.limit_val_batches=1",
            f"--trainer.callbacks={callbacks}", *extra]


def _momentum(optimizer_state: dict) -> float:
    buffers = [s["momentum_buffer"] for s in optimizer_state["state"].values()]
    return float(sum(b.double().sum() for b in buffers))


def test_sigterm_mid_epoch_then_resume_from_last_continues_the_run(data, tmp_path, monkeypatch):
    """Killed at batch 1 of epoch 1 (of 2 x 4 batches), resumed with ``--ckpt_path last``."""
    cmd = [sys.executable, "-m", "lightning_vid.cli",
           *_fit_args(data, tmp_path / "first.jsonl", stop_at=(1, 1))]
    killed = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    output = []
    for line in killed.stdout:
        output.append(line)
        if line.startswith("READY"):
            killed.send_signal(signal.SIGTERM)
    killed.wait(timeout=120)
    saved = torch.load(tmp_path / "ckpt/last.ckpt", weights_only=False)
    batches = saved["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["completed"]
    print(f"killed: rc {killed.returncode}; last.ckpt at epoch {saved['epoch']}, global step "
          f"{saved['global_step']}, {batches} batches of the epoch done")
    assert (saved["epoch"], saved["global_step"], batches) == (1, 6, 2), "".join(output[-30:])

    monkeypatch.chdir(tmp_path)  # the resumed run in this process: quicker
    resumed = cli_main(_fit_args(data, tmp_path / "second.jsonl", "--ckpt_path", "last"))
    assert resumed.trainer.state.finished
    first = [json.loads(x) for x in (tmp_path / "first.jsonl").read_text().splitlines()]
    second = [json.loads(x) for x in (tmp_path / "second.jsonl").read_text().splitlines()]
    start, steps = second[0], second[1:]
    print(f"resumed: momentum sum {start['momentum']:.6f} (saved "
          f"{_momentum(saved['optimizer_states'][0]):.6f}), scheduler {start['scheduler']}")
    for r in first[1:] + steps:
        print(f"  epoch {r['epoch']} batch {r['batch']} step {r['step']} videos {r['index']}")
    # optimizer (momentum buffers) and scheduler came back as saved; a fresh run has neither
    assert first[0]["momentum"] is None and start["momentum"] == pytest.approx(
        _momentum(saved["optimizer_states"][0]))
    assert start["scheduler"] == saved["lr_schedulers"][0]
    # the same epoch from the next batch, up to the step count of an uninterrupted run
    assert [(r["epoch"], r["batch"]) for r in steps] == [(1, 2), (1, 3)]
    assert steps[-1]["step"] == 8
    # the sampler continued its epoch: each training video once in epoch 1 across the kill
    epoch1 = [i for r in first[1:] + steps if r["epoch"] == 1 for i in r["index"]]
    assert sorted(epoch1) == list(range(16)), epoch1
    assert torch.load(tmp_path / "ckpt/last.ckpt", weights_only=False)["global_step"] == 8
