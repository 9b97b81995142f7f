"""docs/model_zoo.md: every command names a recipe that builds the model the file holds (T,
trunk) and options that exist, so a command copied from the page evaluates what it says;
every command reads the dataset it names in its distributed layout (tiny copies: SSv1 JPEG
frame folders ``00001.jpg``, SSv2 ``.webm``, Kinetics ``.mp4``); one runs end to end as typed,
with the installed command, on a machine without the recipe's 8 GPUs; every class path on the
page imports."""

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from lightning_vid.data.protocol import EvalProtocol
from lightning_vid.data.video_io import write_video

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "model_zoo.md").read_text()
RECIPES = ROOT / "lightning_vid" / "configs" / "recipes"


def _commands() -> list[list[str]]:
    """The page's ``lightning-vid test`` lines, its shell variables ($R, $F, "$TEN") expanded."""
    variables = {name: value.strip('"') for name, value in
                 re.findall(r"^(\w+)=(\"[^\"]*\"|\S+)$", PAGE, flags=re.M)}
    commands = []
    for line in re.findall(r"^lightning-vid test --config \$R/.*$", PAGE, flags=re.M):
        for name, value in variables.items():
            line = line.replace(f'"${name}"', shlex.quote(value)).replace(f"${name}", value)
        commands.append(shlex.split(line))
    return commands


COMMANDS = _commands()


def _option(argv: list[str], name: str):
    for i, arg in enumerate(argv):
        if arg == name:
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def test_every_recipe_of_the_tables_exists_and_has_a_command():
    recipe = r"`((?:tsn|tsm|tam|tdn|tea|tcm)_\w+x\d+_[\w\-]+)`"
    rows = set(re.findall(rf"^\|.*\| {recipe} \|", PAGE, re.M))
    assert len(COMMANDS) >= 40 and len(rows) >= 25
    assert all((RECIPES / f"{name}.yaml").is_file() for name in rows)
    assert rows <= {Path(_option(c, "--config")).stem for c in COMMANDS}


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: Path(_option(a, "--config")).stem)
def test_a_zoo_command_builds_the_files_model(argv):
    recipe = yaml.safe_load((ROOT / _option(argv, "--config")).read_text())
    data, model = recipe["data"]["init_args"], recipe["model"]
    file = _option(argv, "--model.init_from")
    assert file and _option(argv, "--data.root")
    segments = re.search(r"shift8_blockres_avg_segment(\d+)_|1x1x(\d+)-", file)
    if segments:  # TSM's and mmaction2's file names say T (TSN's "segment5" is tested at 8)
        assert data["num_segments"] == int(segments.group(1) or segments.group(2)), file
    deep = bool(re.search(r"resnet101|r101", file))
    if segments:
        assert ("resnet101" in model["model"]["init_args"]["backbone"]) == deep, file
    override = yaml.safe_load(_option(argv, "--data.test_protocol") or "{}")
    protocol = EvalProtocol(**{**data["test_protocol"], **override})  # jsonargparse merges
    mmaction2 = file.startswith(("tsm_imagenet", "tanet_imagenet"))
    # the authors' test scripts (TSN code base): crops on the (W - crop) // 4 grid, PIL's
    # antialiased bilinear resize, the long side truncated; mmaction2's CenterCrop/ThreeCrop
    # floored to (W - crop) // 2, OpenCV's INTER_LINEAR (no antialias), mmcv's rounded side
    assert protocol.crop_positions == ("half_grid" if mmaction2 else "quarter_grid"), file
    assert protocol.antialias != mmaction2, file
    assert protocol.long_side == ("rounded" if mmaction2 else "truncated"), file
    stem = Path(_option(argv, "--config")).stem
    tanet_uniform = stem.startswith("tam_") and protocol.sampling == "uniform"
    assert (protocol.clip_starts == "whole_frames") == tanet_uniform, "TANet's uniform-N"
    assert (protocol.resize_to == (240, 320)) == stem.startswith("tcm_"), "TCM's 240 x 320"
    fusion = _option(argv, "--model.eval_fusion") or model["eval_fusion"]
    assert fusion in ("logits", "softmax")
    if "openmmlab" in PAGE and mmaction2:
        assert fusion == "softmax", "mmaction2 averages softmax scores"


def test_every_class_path_on_the_page_imports():
    paths = set(re.findall(r"\b(lightning_vid(?:\.\w+)+)", PAGE))
    assert "lightning_vid.data.datasets.FrameListDataModule" in paths
    for path in sorted(paths):
        module, found = path, None
        while found is None and "." in module:
            try:
                found = importlib.import_module(module)
            except ModuleNotFoundError:
                module = module.rsplit(".", 1)[0]
        obj = found
        for attribute in path[len(module) + 1:].split(".") if path != module else []:
            obj = getattr(obj, attribute, None)
            assert obj is not None, f"{path} (in docs/model_zoo.md) does not exist"
    for config in re.findall(r"(lightning_vid/configs/[\w/.\-]+?\.yaml)", PAGE):
        assert (ROOT / config).is_file(), config


K = 3  # classes of the tiny datasets (the file's classifier rows)
#: a dataset's layout as distributed: SSv1 JPEG frame folders (100 px high), SSv2 WebM, K400 MP4
LAYOUTS = {"sthv1": "frames", "sthv2": ".webm", "k400": ".mp4"}


def _frames(count: int, height: int, width: int, seed: int) -> np.ndarray:
    g = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    frames = [np.clip(ramp + 8 * t + g.normal(0, 8, (height, width, 3)), 0, 255)
              for t in range(count)]
    return np.stack(frames).astype(np.uint8)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """``<name>/test.csv`` + ``classes.txt`` over 2 videos in each dataset's layout."""
    roots = {}
    for name, kind in LAYOUTS.items():
        root = tmp_path_factory.mktemp(name)
        rows = []
        for i in range(2):
            frames = _frames(72 + 3 * i, 100, 132, i)
            if kind == "frames":
                folder = root / "20bn-something-something-v1" / f"{i + 1}"
                folder.mkdir(parents=True)
                for n, frame in enumerate(frames, start=1):
                    Image.fromarray(frame).save(folder / f"{n:05d}.jpg", quality=90)
                rows.append(f"20bn-something-something-v1/{i + 1},{i}")
            else:
                write_video(root / f"v{i}{kind}", frames)
                rows.append(f"v{i}{kind},{i}")
        (root / "test.csv").write_text("path,label\n" + "\n".join(rows) + "\n")
        (root / "classes.txt").write_text("".join(f"class {k}\n" for k in range(K)))
        roots[name] = root
    return roots


def _dataset_of(argv: list[str]) -> str:
    return {"<sthv1>": "sthv1", "<sthv2>": "sthv2", "<k400>": "k400"}[_option(argv, "--data.root")]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: Path(_option(a, "--config")).stem)
def test_a_zoo_command_reads_the_dataset_it_names_as_distributed(argv, datasets):
    """The recipe's data section with the command's ``--data.*`` options (merged as the CLI
    merges them) reads the first test video of a tiny copy of the named dataset: the sampled
    frames of every clip. SSv1's ``00001.jpg`` folders failed here before the recipes carried
    their layout."""
    recipe = yaml.safe_load((ROOT / _option(argv, "--config")).read_text())["data"]
    options = dict(recipe["init_args"])
    for i, arg in enumerate(argv):
        if arg.startswith("--data.") and arg != "--data.root":
            key, value = arg[7:].split("=", 1) if "=" in arg else (arg[7:], argv[i + 1])
            value = yaml.safe_load(value)
            if isinstance(value, dict):
                value = {**options.get(key, {}), **value}
            options[key] = value
    options["test_protocol"] = EvalProtocol(**options["test_protocol"])
    options["root"] = str(datasets[_dataset_of(argv)])
    package, _, name = recipe["class_path"].rpartition(".")
    module = getattr(importlib.import_module(package), name)(**options)
    dataset = module.dataset("test")
    clip = dataset.load(dataset.records[0])
    protocol, frames = options["test_protocol"], module.num_segments * module.frames_per_segment
    assert clip.shape[-4:] == (frames, 3, 100, 132)
    assert (clip.shape[0] if clip.ndim == 5 else 1) == protocol.clips


BIN = Path(sys.executable).parent  # the venv's console scripts


def _tsm_authors_file(path: Path) -> None:
    """A TSM R50 8-frame file as the authors' main.py saves it (DataParallel keys, ``new_fc``,
    ``conv1.net`` inside the shift wrapper), random weights, K classes."""
    from lightning_vid.models import build_model

    model = build_model("tsm", num_classes=K, num_segments=8, backbone="resnet50")
    state = {}
    for key, value in model.state_dict().items():
        key = re.sub(r"^fc\.", "new_fc.", re.sub(r"^trunk\.", "base_model.", key))
        state["module." + re.sub(r"\.conv1\.conv\.", ".conv1.net.", key)] = value
    torch.save({"epoch": 45, "arch": "resnet50", "state_dict": state, "best_prec1": 45.6}, path)


def test_the_first_ssv1_command_runs_as_typed_without_the_recipes_gpus(datasets, tmp_path):
    """``lightning-vid test --config $R/tsm_r50_8x1_sthv1.yaml --model.init_from <file>
    --data.root <sthv1>`` exactly as the page types it (the recipe asks for 8 GPUs and DDP;
    this machine has none): it evaluates on the CPU, saying so, and reports the accuracy."""
    argv = next(a for a in COMMANDS if Path(_option(a, "--config")).stem == "tsm_r50_8x1_sthv1")
    file = _option(argv, "--model.init_from")
    _tsm_authors_file(tmp_path / file)
    (tmp_path / "lightning_vid").symlink_to(ROOT / "lightning_vid")  # the page's $R
    args = [str(BIN / "lightning-vid")] + [str(datasets["sthv1"]) if a == "<sthv1>" else a
                                           for a in argv[1:]]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", OMP_NUM_THREADS="1",
               CUDA_VISIBLE_DEVICES="")
    for key in ("LOCAL_RANK", "WANDB_SILENT", "WANDB_SERVICE"):
        env.pop(key, None)
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "this machine has 0: running on what it has" in out
    assert re.search(r"init_from \S+: all \d+ tensors loaded", out), out[-2000:]
    assert "test/acc1=" in out and "test/videos=2" in out and "test/skipped=0" in out


def test_devices_a_config_asks_for_fall_back_in_evaluation_and_flags_are_kept(tmp_path,
                                                                              monkeypatch):
    """A config's ``accelerator: gpu, devices: 8, strategy: ddp`` (a recipe's training
    devices) on a machine without them: ``test`` runs on what it has. The same options typed
    on the command line are the user's choice: used as given (here: Lightning's error)."""
    from lightning_vid.cli import cli_main
    from lightning_vid.data.synthetic import generate

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.chdir(tmp_path)
    data = generate(tmp_path / "data", num_train=2, num_val=2, num_test=2, size=32, frames=8,
                    workers=1, verbose=False)
    (tmp_path / "gpus.yaml").write_text("trainer:\n  accelerator: gpu\n  devices: 8\n"
                                        "  strategy: ddp\n")
    config = str(ROOT / "lightning_vid" / "configs" / "tsm_r18_4x1_synthetic.yaml")
    tiny = ["--data.root", str(data), "--data.num_workers=0", "--data.crop_size=32",
            "--data.scale_size=32", "--trainer.logger=false", "--trainer.callbacks=[]",
            "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    cli = cli_main(["test", "--config", config, "--config", "gpus.yaml", *tiny])
    assert cli.trainer.accelerator.__class__.__name__ == "CPUAccelerator"
    assert cli.trainer.num_devices == 1
    with pytest.raises(Exception, match=r"(?i)gpu|cuda|device"):  # no machine has 64
        cli_main(["test", "--config", config, *tiny, "--trainer.accelerator", "gpu",
                  "--trainer.devices", "64"])
