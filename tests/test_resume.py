"""Resuming continues the run it resumes: the same weights as the uninterrupted run.

Two uninterrupted 2-epoch runs are bit-identical; a run stopped after epoch 1 and resumed with
``--ckpt_path last``, and a run stopped by SIGTERM in the middle of epoch 2 (the installed
``lightning-vid`` in a subprocess: exit status 143, ``last.ckpt`` saved on the exception) and
resumed, end with the weights of the uninterrupted run, with 0 and 2 DataLoader workers.

So do runs stopped by Ctrl-C (SIGINT, exit 130) or SIGTERM (143), sent to the main process or
to its whole process group (workers included, as a terminal's Ctrl-C, SLURM and Kubernetes
do), wherever it lands: in a training step, in validation, at an epoch's end, while a
checkpoint is saved (:class:`SignalAt` sends it from inside the run, so where it lands is
exact). Each prints one line naming ``last.ckpt`` and the command that resumes, and no
traceback.
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from lightning_vid.callbacks.stop import received
from lightning_vid.cli import SIGTERM_EXIT, cli_main
from lightning_vid.data.synthetic import generate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONFIG = str(ROOT / "lightning_vid/configs/tsm_r18_4x1_synthetic.yaml")
LIGHTNING_VID = str(Path(sys.executable).with_name("lightning-vid"))


class StopAt(L.Callback):
    """At ``(epoch, batch)`` prints READY and waits (60 s at most) for the SIGTERM the test
    sends, after which the run stops after this batch."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.at = (epoch, batch)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if (trainer.current_epoch, batch_idx) == self.at:
            print("READY", flush=True)
            deadline = time.time() + 60
            while received() is None and time.time() < deadline:
                time.sleep(0.05)


class SignalAt(L.Callback):
    """Sends ``sig`` to this process (or its process group) from ``hook`` in ``epoch``
    (``train_batch_end``, ``val_batch_end``, ``train_epoch_end``, ``save_checkpoint``: the
    first batch or the first checkpoint), once, on rank 0."""

    def __init__(self, hook: str, epoch: int, sig: str = "SIGINT", group: bool = False) -> None:
        self.hook, self.epoch, self.sig, self.group, self.sent = hook, epoch, sig, group, False

    def _send(self, trainer, hook: str) -> None:
        if (self.sent or hook != self.hook or trainer.current_epoch != self.epoch
                or trainer.sanity_checking or trainer.global_rank != 0):
            return
        self.sent = True
        sig = getattr(signal, self.sig)
        if self.group:
            os.killpg(os.getpgid(0), sig)
        else:
            os.kill(os.getpid(), sig)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._send(trainer, "train_batch_end")

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, *args):
        self._send(trainer, "val_batch_end")

    def on_train_epoch_end(self, trainer, pl_module):
        self._send(trainer, "train_epoch_end")

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        self._send(trainer, "save_checkpoint")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return str(generate(tmp_path_factory.mktemp("synthetic"), num_train=16, num_val=4,
                        num_test=4, size=32, frames=16, workers=1, verbose=False))


def _args(data, run, workers, epochs, *extra):
    """2 epochs of 4 batches of 4 clips; the config's checkpoints (last.ckpt at each epoch's
    end and on SIGTERM) in runs/<run>/version_0."""
    return ["fit", "--config", CONFIG, "--data.root", data, "--data.batch_size=4",
            f"--data.num_workers={workers}", "--data.crop_size=32", "--data.scale_size=32",
            "--trainer.logger=false", "--trainer.enable_progress_bar=false",
            "--trainer.enable_model_summary=false", "--trainer.limit_train_batches=4",
            "--trainer.limit_val_batches=1", f"--trainer.max_epochs={epochs}",
            f"--run_name={run}", *extra]


def _weights(cwd: Path, run: str) -> dict:
    last = cwd / "runs" / run / "version_0" / "checkpoints" / "last.ckpt"
    return torch.load(last, weights_only=True)["state_dict"]


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get(
        "PYTHONPATH", "")]), OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("LOCAL_RANK", None)
    return env


def _signal_at(data, cwd, run, workers, hook, epoch, sig, group) -> tuple[int, str, list]:
    """The installed command in its own process group, signalled by :class:`SignalAt`."""
    callback = json.dumps({"class_path": "test_resume.SignalAt", "init_args": {
        "hook": hook, "epoch": epoch, "sig": sig, "group": group}})
    cmd = [LIGHTNING_VID, *_args(data, run, workers, 2, f"--trainer.callbacks+={callback}")]
    done = subprocess.run(cmd, cwd=cwd, env=_env(), text=True, capture_output=True,
                          timeout=300, start_new_session=True)
    return done.returncode, done.stdout + done.stderr, cmd[1:]


def _sigterm_at(data, cwd, workers, at) -> tuple[int, str]:
    """The installed command, stopped by SIGTERM after batch ``at``."""
    callback = json.dumps({"class_path": "test_resume.StopAt",
                           "init_args": {"epoch": at[0], "batch": at[1]}})
    cmd = [LIGHTNING_VID, *_args(data, "stopped", workers, 2,
                                 f"--trainer.callbacks+={callback}")]
    run = subprocess.Popen(cmd, cwd=cwd, env=_env(), text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    output = []
    for line in run.stdout:
        output.append(line)
        if line.startswith("READY"):
            run.send_signal(signal.SIGTERM)
    run.wait(timeout=300)
    return run.returncode, "".join(output[-40:])


def _max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_resumed_run_ends_with_the_weights_of_the_uninterrupted_run(data, tmp_path,
                                                                      monkeypatch, workers):
    monkeypatch.chdir(tmp_path)
    cli_main(_args(data, "whole", workers, 2))
    cli_main(_args(data, "again", workers, 2))
    whole = _weights(tmp_path, "whole")
    assert all(torch.equal(whole[k], v) for k, v in _weights(tmp_path, "again").items())

    cli_main(_args(data, "epochs", workers, 1))  # stopped after epoch 1
    assert torch.load(tmp_path / "runs/epochs/version_0/checkpoints/last.ckpt",
                      weights_only=True)["epoch"] == 0
    cli_main(_args(data, "epochs", workers, 2, "--ckpt_path", "last"))
    assert not (tmp_path / "runs/epochs/version_1").exists()  # resumed in its own folder
    assert _max_difference(_weights(tmp_path, "epochs"), whole) < 1e-6

    status, output = _sigterm_at(data, tmp_path, workers, at=(1, 1))  # mid-epoch 2
    assert status == SIGTERM_EXIT, output
    saved = torch.load(tmp_path / "runs/stopped/version_0/checkpoints/last.ckpt",
                       weights_only=True)
    progress = saved["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["completed"]
    assert (saved["epoch"], saved["global_step"], progress) == (1, 6, 2), output
    cli_main(_args(data, "stopped", workers, 2, "--ckpt_path", "last"))
    assert _max_difference(_weights(tmp_path, "stopped"), whole) < 1e-6

    # Ctrl-C and SIGTERM, to the process or its group, wherever they land; stopped in epoch 1,
    # so epoch 2 shows a random state moved by the resumed run's first validation (its
    # persistent workers' loader drew its seed there, the uninterrupted run's in the sanity
    # check)
    cases = {0: [("val_batch_end", 0, "SIGINT", False), ("save_checkpoint", 0, "SIGTERM", True)],
             2: [("val_batch_end", 0, "SIGTERM", True), ("train_batch_end", 0, "SIGINT", True)]}[
        workers]
    for i, (hook, epoch, sig, group) in enumerate(cases):
        run = f"signal{i}"
        status, output, args = _signal_at(data, tmp_path, run, workers, hook, epoch, sig, group)
        where = f"{sig}{' to the group' if group else ''} at {hook}, epoch {epoch}"
        assert status == 128 + getattr(signal, sig), f"{where}: {status}\n{output[-3000:]}"
        assert "Traceback" not in output and "killed by signal" not in output, output[-3000:]
        [line] = [x for x in output.splitlines() if x.startswith(f"stopped by {sig}")]
        last = f"runs/{run}/version_0/checkpoints/last.ckpt"
        saved, command = line.split("; resume with: ")
        assert saved == f"stopped by {sig}: checkpoint {last}", line
        assert shlex.split(command) == ["lightning-vid", *args, "--ckpt_path", "last"], line
        cli_main(_args(data, run, workers, 2, "--ckpt_path", "last"))
        resumed = _weights(tmp_path, run)
        assert all(torch.equal(whole[k], v) for k, v in resumed.items()), where
