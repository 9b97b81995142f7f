"""docs/model_zoo.md: every command names a recipe that builds the model the file holds (T,
trunk) and options that exist, so a command copied from the page evaluates what it says."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from lightning_vid.data.protocol import EvalProtocol

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
    # the authors' test scripts (TSN code base): crops on the (W - crop) // 4 grid
    assert protocol.crop_positions == "quarter_grid"
    stem = Path(_option(argv, "--config")).stem
    tanet_uniform = stem.startswith("tam_") and protocol.sampling == "uniform"
    assert (protocol.clip_starts == "whole_frames") == tanet_uniform, "TANet's uniform-N"
    assert (protocol.resize_to == (240, 320)) == stem.startswith("tcm_"), "TCM's 240 x 320"
    fusion = _option(argv, "--model.eval_fusion") or model["eval_fusion"]
    assert fusion in ("logits", "softmax")
    if "openmmlab" in PAGE and file.startswith(("tsm_imagenet", "tanet_imagenet")):
        assert fusion == "softmax", "mmaction2 averages softmax scores"
