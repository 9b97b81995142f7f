"""The notebooks run, top to bottom, against a tiny model trained here for a few steps."""

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

import lightning_vid
from lightning_vid.cli import cli_main
from lightning_vid.data.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CONFIG = str(ROOT / "lightning_vid" / "configs" / "tam_r18_4x1_synthetic.yaml")  # TANet
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """TANet (TAM: kernels to draw), 32 px, 2 epochs of 1 step; a checkpoint per epoch."""
    work = tmp_path_factory.mktemp("notebooks")
    data = generate(work / "data", num_train=4, num_val=3, num_test=2, size=32, frames=16,
                    workers=1, verbose=False)
    old = os.getcwd()
    os.chdir(work)
    try:
        cli_main(["fit", "--config", CONFIG, "--data.root", str(data),
                  "--data.crop_size=32",
                  "--data.scale_size=32", "--data.batch_size=2", "--data.num_workers=0",
                  "--trainer.max_epochs=2", "--trainer.limit_train_batches=1",
                  "--trainer.limit_val_batches=1", "--trainer.enable_progress_bar=false",
                  "--trainer.enable_model_summary=false",
                  '--trainer.logger={"class_path": "lightning.pytorch.loggers.CSVLogger", '
                  '"init_args": {"save_dir": "runs/csv"}}',
                  '--trainer.callbacks=[{"class_path": '
                  '"lightning.pytorch.callbacks.ModelCheckpoint",'
                  ' "init_args": {"dirpath": "ckpts", "save_top_k": -1}}]'])
    finally:
        os.chdir(old)
    ckpts = sorted((work / "ckpts").glob("epoch=*.ckpt"))
    assert len(ckpts) == 2
    return {"work": work, "data": Path(data), "ckpts": ckpts}


@pytest.fixture(scope="module")
def after_demo(trained, tmp_path_factory):
    """A folder as `make demo` leaves it: data/synthetic and runs/tsm_r18_4x1_synthetic's
    last.ckpt (here the TANet of ``trained``), nothing else."""
    work = tmp_path_factory.mktemp("after_demo")
    (work / "data").mkdir()
    (work / "data" / "synthetic").symlink_to(trained["data"], target_is_directory=True)
    ckpts = work / "runs" / "tsm_r18_4x1_synthetic" / "version_0" / "checkpoints"
    ckpts.mkdir(parents=True)
    shutil.copy(trained["ckpts"][1], ckpts / "last.ckpt")
    return work


def _run(name: str, cwd: Path, monkeypatch, **env: str) -> nbformat.NotebookNode:
    """Execute a notebook in ``cwd`` with ``LV_*`` parameters; any error fails the test."""
    for key in ("LV_CKPT", "LV_CKPT_B", "LV_VIDEOS", "LV_VIDEO", "LV_LABEL", "LV_OFFICIAL_ARCH"):
        monkeypatch.delenv(key, raising=False)  # only what the test sets
    for key, value in {"OMP_NUM_THREADS": "1", **env}.items():
        monkeypatch.setenv(key, value)  # the kernel inherits the environment
    book = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(book, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return book


def _outputs(book, kind: str) -> int:
    return sum(kind in out.get("data", {}) for c in book.cells if c.cell_type == "code"
               for out in c.outputs)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_explore_learned_kernels_compares_two_checkpoints(trained, monkeypatch):
    videos = sorted((trained["data"] / "videos/val").glob("*.mp4"))
    book = _run("explore_learned_kernels.ipynb", trained["work"], monkeypatch,
                LV_CKPT=str(trained["ckpts"][1]), LV_CKPT_B=str(trained["ckpts"][0]),
                LV_VIDEOS=",".join(map(str, videos)))
    # TAM: kernel violins, V per channel, the comparison; no spatial maps nor flow fields
    assert _outputs(book, "image/png") == 3
    text = "".join(o.get("text", "") for c in book.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert "no spatial views" in text and "no flow views" in text and "predictions:" in text


def test_explore_learned_kernels_reads_an_authors_tanet_file(trained, tmp_path, monkeypatch):
    """TANet's file as its main.py saves it (DataParallel keys, TemporalBottleneck ``net``,
    TAM ``tam.G``/``tam.L``, head ``new_fc``), loaded through load_official."""
    state = lightning_vid.load_checkpoint(trained["ckpts"][1]).model.state_dict()
    rules = [(r"^trunk\.", "base_model."), (r"^fc\.", "new_fc."),
             (r"\.act1\.temporal\.global_branch\.", ".tam.G."),
             (r"\.act1\.temporal\.local_branch\.", ".tam.L."),
             (r"^(base_model\.layer\d\.\d+)\.(?!tam\.)", r"\1.net.")]
    official = {}
    for key, value in state.items():
        for pattern, repl in rules:
            key = re.sub(pattern, repl, key)
        official["module." + key] = value
    torch.save({"epoch": 2, "arch": "resnet18", "state_dict": official, "best_prec1": 50.0},
               tmp_path / "ckpt.best.pth.tar")
    videos = sorted((trained["data"] / "videos/val").glob("*.mp4"))
    book = _run("explore_learned_kernels.ipynb", trained["work"], monkeypatch,
                LV_CKPT=str(tmp_path / "ckpt.best.pth.tar"), LV_OFFICIAL_ARCH="tam",
                LV_OFFICIAL_SEGMENTS="4", LV_VIDEOS=",".join(map(str, videos)))
    assert _outputs(book, "image/png") == 2  # kernel violins and V; no second checkpoint
    text = "".join(o.get("text", "") for c in book.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert "TANet T=4" in text and "set CKPT_B" in text


def test_the_kernel_notebook_runs_right_after_make_demo(after_demo, monkeypatch):
    """No parameter set: the checkpoint `make demo` writes and the synthetic videos."""
    book = _run("explore_learned_kernels.ipynb", after_demo, monkeypatch)
    text = "".join(o.get("text", "") for c in book.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert "checkpoint: runs/tsm_r18_4x1_synthetic/version_0/checkpoints/last.ckpt" in text


def test_the_readme_runs_the_gradcam_notebook_after_make_demo(after_demo):
    """notebooks/README.md's commands as typed, in the project root `make demo` leaves, with
    the installed `jupyter execute`: the copy holds the figures, the committed one none."""
    import subprocess
    import sys

    text = (NOTEBOOKS / "README.md").read_text()
    [block] = re.findall(r"```bash\n(.*?)```", text, re.S)
    (after_demo / "notebooks").symlink_to(NOTEBOOKS, target_is_directory=True)
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-ec", block], cwd=after_demo, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    book = nbformat.read(after_demo / "gradcam.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in book.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert "checkpoint: runs/tsm_r18_4x1_synthetic/version_0/checkpoints/last.ckpt" in text
    assert _outputs(book, "image/png") == 3 and _outputs(book, "image/gif") == 1


def test_train_from_python_with_cli_main(trained, tmp_path, monkeypatch):
    book = _run("train_from_python.ipynb", tmp_path, monkeypatch, LV_DATA=str(trained["data"]),
                LV_QUICK="1")
    assert list(tmp_path.glob("runs/tam_from_python/**/media/interpret/kernels/*.png"))
    assert _outputs(book, "image/png") >= 2  # the kernel logger's figures, shown
