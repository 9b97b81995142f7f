"""Every command in the README and in docs/ is run by a test.

A command is a line of a ```` ```bash ```` block (continuation lines joined, comment lines
skipped) or an inline code span that is one: ``make <target>``, or a project program
(``lightning-vid``, ``python``, ``wandb``...) with at least one option and no placeholder
(``<dir>``, ``CKPT``). :func:`test_every_command_on_every_page_is_run_or_mapped` fails on one
that is neither run as typed by a test (the ones here, ``tests/test_cli.py``'s README steps,
``tests/test_notebooks.py``'s notebooks README) nor in :data:`MAPPED`, which names the test that
runs it where running it here would need real datasets, a GPU or an hour (the zoo's commands,
the full benchmarks). The other tests run the pages' commands as typed, with the tiny settings
of :data:`APPENDED` after them, through the installed commands in subprocesses, in a folder
holding a tiny synthetic benchmark at ``data/synthetic``, and check what each command says it
does; the links and paths the pages give exist.
"""

from __future__ import annotations

import glob
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's console scripts
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "notebooks/README.md"]
PROGRAMS = ("lightning-vid", "lightning-vid-data", "lightning-vid-render", "python", "make",
            "wandb", "pip", "conda", "jupyter", "torchrun", "sbatch")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
PLACEHOLDER = re.compile(r"<[^>]+>|\b[A-Z][A-Z_]{2,}\b(?!=)")


def _key(command: str) -> str:
    return " ".join(command.split())


def page_commands(page: Path) -> list[str]:
    """The commands of one page, in order, bash blocks first."""
    text = page.read_text()
    found = []
    for language, body in FENCE.findall(text):
        if language == "bash":
            found += [_key(line) for line in body.replace("\\\n", " ").splitlines()
                      if line.strip() and not line.lstrip().startswith("#")]
    for span in re.findall(r"`([^`\n]+)`", FENCE.sub("", text)):
        words = span.split()
        if words[0] in PROGRAMS and len(words) > 1 and (
                words[0] == "make" or (any(w.startswith("-") for w in words[1:])
                                       and not PLACEHOLDER.search(span))):
            found.append(_key(span))
    return found


def _commands(page: str, prefix: str = "") -> list[str]:
    return [c for c in page_commands(ROOT / page) if c.startswith(prefix)]


#: run here, in this order, in one folder (``session``): the CLI page's runs, the figures of
#: the visualisation page, then the W&B uploads of what they wrote
SESSION = [*[c for c in _commands("docs/cli.md", "lightning-vid ") if " --config " in c],
           *_commands("docs/visualisation.md", "lightning-vid"),
           *_commands("docs/cli.md", "wandb sync")]
DATA_HELP = _commands("docs/datasets.md", "lightning-vid-data --help")
STARTUP = _commands("docs/measurements.md", "python scripts/bench_startup.py")
DECODE = _commands("docs/measurements.md", "python scripts/bench_decode.py")[:1]
RUN_HERE = {*SESSION, *DATA_HELP, *STARTUP, *DECODE}

#: what a command gets appended here: tiny data and few steps, nothing uploaded
TINY = ["--data.crop_size=32", "--data.scale_size=36", "--data.batch_size=3",
        "--data.num_workers=0", "--trainer.max_epochs=2", "--trainer.limit_train_batches=2",
        "--trainer.limit_val_batches=2", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false"]
APPENDED = {"lightning-vid fit": TINY, "lightning-vid test": TINY,
            "lightning-vid-render": [], "lightning-vid-data": [],
            "wandb sync": ["--dry-run"],  # lists what it would upload, offline
            "python scripts/bench_startup.py": ["--rounds", "1"],
            "python scripts/bench_decode.py": ["--repeats", "1"]}

_ZOO = "tests/test_model_zoo.py::test_a_zoo_command_builds_the_files_model"
_DEMO = "tests/test_scripts.py::test_the_demo_trains_tests_and_draws_each_pair"
_SPEED = "tests/test_scripts.py::test_bench_speed_compares_eager_and_compiled_throughput_side_by_side"
_INSTALL = "tests/test_docs.py::test_the_install_commands_install_what_make_setup_does"
#: (pattern, the test that runs it, why it is not run here as typed)
MAPPED = [
    (r"make (setup|test)\b", ".ci/run", "the CI runs `make test` (which runs `make setup`): "
     "this suite"),
    (r"conda env create -f conda-env\.yml$", _INSTALL, "no conda here; its file is checked"),
    (r"pip install -e \"\.\[[\w,]+\]\"$", _INSTALL, "an extra the dev extra includes"),
    (r"make demo\b", _DEMO, "the demo's script with tiny settings; the full run is minutes"),
    (r"python scripts/demo\.py (--arch tsm )?--jobs 1\b", _DEMO,
     "the same script, tiny (--jobs 1: in one process, as test_scripts' other demo tests)"),
    (r"python scripts/demo\.py --arch (tea|tsn@res2net50_26w_4s|trm) ",
     "tests/test_scripts.py::test_the_bench_gives_a_module_on_another_trunk_a_tsn_on_that_trunk",
     "an hour of training each; the demo script's --arch and its run names"),
    (r"python -c \"import functools, runpy, timm; .*runpy\.run_path\('scripts/demo\.py'", _DEMO,
     "the demo script, under a patched timm.create_model"),
    (r"make bench$", "tests/test_scripts.py::test_the_zoo_reports_each_module_relative_to_tsn_on_"
     "its_own_trunk", "42 minutes: the demo's --arch all and scripts/zoo.py"),
    (r"make figures$|python scripts/model_figures\.py$",
     "tests/models/test_contract.py::test_the_probe_is_in_the_zoo_and_the_figures_report",
     "fvcore over every architecture at 224 px: minutes"),
    (r"python scripts/bench_speed\.py ", _SPEED, "minutes per architecture (one: a GPU)"),
    (r"python scripts/bench_decode\.py --repeats 11 --naive ",
     "tests/test_docs.py::test_the_decoding_benchmark_checks_every_frame_it_times",
     "the same script on longer videos (1080p, 30 s): minutes"),
    (r"python -c \"import lightning\.pytorch\"$",
     "tests/test_docs.py::test_the_start_up_benchmark_times_the_commands_against_the_import",
     "the baseline bench_startup.py times"),
    (r"lightning-vid (fit )?--help$", "tests/test_cli.py::test_help_loads_no_video_decoder_"
     "model_zoo_logger_or_figure_code", "run there, with the modules it loads"),
    (r"lightning-vid fit --config lightning_vid/configs/tsm_r18_4x1_synthetic\.yaml "
     r"--model\.compile true$", "tests/test_cli_compile.py::test_fit_with_compile_from_the_"
     "command_keeps_the_eager_checkpoint_keys", "compiling takes minutes on the CPU"),
    (r"python -m lightning_vid\.export runs/\S+/last\.ckpt --out exported$",
     "tests/models/test_contract.py::test_the_probe_trains_from_the_cli_and_exports_from_its_"
     "checkpoint", "the installed module on a CLI checkpoint there"),
    (r"lightning-vid-data synthetic --out data/synthetic$", "tests/data/tools/test_command.py::"
     "test_the_command_lists_its_tools_and_writes_the_synthetic_benchmark",
     "the full benchmark is a minute; there with fewer videos"),
    (r"lightning-vid-data check --data-config lightning_vid/configs/data/ucf101\.yaml ",
     "tests/data/tools/test_check.py::test_checker_lists_bad_files_and_the_data_module_"
     "excludes_them", "needs UCF101: there on a copy in its layout"),
    (r"lightning-vid test --config \$R/", _ZOO, "the authors' files and datasets"),
    (r"(R|F|TEN|MM)=", _ZOO, "the zoo page's shell variables, expanded there"),
]


def _readme_steps() -> list[str]:
    test_cli = importlib.import_module("test_cli")
    return [_key(step) for step in test_cli.readme_steps()]


def _notebook_steps() -> list[str]:
    [block] = re.findall(r"```bash\n(.*?)```", (ROOT / "notebooks/README.md").read_text(), re.S)
    return [_key(line) for line in block.splitlines() if line.strip()]


def test_every_command_on_every_page_is_run_or_mapped():
    run = RUN_HERE | set(_readme_steps()) | set(_notebook_steps())
    every = {(page.relative_to(ROOT).as_posix(), c) for page in PAGES
             for c in page_commands(page)}
    assert len(every) > 60 and len(run) >= 15
    left = sorted(f"{page}: {c}" for page, c in every
                  if c not in run and not any(re.match(p, c) for p, _, _ in MAPPED))
    assert not left, "run by no test (run it here, or map it in MAPPED):\n" + "\n".join(left)
    for pattern, target, _ in MAPPED:
        assert any(re.match(pattern, c) for _, c in every), f"{pattern} matches no command"
        file, _, name = target.partition("::")
        text = (ROOT / file).read_text()
        assert (re.search(rf"^def {name}\(", text, re.M) if name else "make test" in text), target


def test_the_readme_is_a_five_minute_read_and_links_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    for page in (ROOT / "docs").glob("*.md"):
        assert f"docs/{page.name}" in readme, page.name
    assert "docs/modules/README.md" in readme


def test_every_link_class_path_and_file_the_pages_name_exists():
    for page in PAGES:
        text, name = page.read_text(), page.relative_to(ROOT)
        for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not link.startswith("http"):
                assert (page.parent / link).exists(), f"{name}: link {link}"
        for path in re.findall(r"`((?:lightning_vid|scripts|tests|notebooks|requirements)/"
                               r"[\w/.*\-]+)`", text):
            assert glob.glob(str(ROOT / path)), f"{name}: {path}"
        if page.name == "model_zoo.md":
            continue  # tests/test_model_zoo.py imports its class paths
        for dotted in set(re.findall(r"\b(lightning_vid(?:\.\w+)+)", text)):
            module, found = dotted, None
            while found is None:  # the longest importable prefix, then attributes
                try:
                    found = importlib.import_module(module)
                except ModuleNotFoundError:
                    assert "." in module, f"{name}: {dotted} does not import"
                    module = module.rsplit(".", 1)[0]
            for attribute in dotted[len(module) + 1:].split(".") if dotted != module else []:
                found = getattr(found, attribute, None)
                assert found is not None, f"{name}: {dotted} does not exist"


def test_the_install_commands_install_what_make_setup_does():
    """``conda env create -f conda-env.yml`` (not run: no conda here) installs what
    ``make setup`` does; every extra a page names exists, and a ``pip install`` a page shows
    installs only what the ``dev`` extra of ``make setup`` has (which this suite runs in)."""
    env = yaml.safe_load((ROOT / "conda-env.yml").read_text())
    [pip] = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    make = (ROOT / "Makefile").read_text()
    assert pip == ["-r requirements/pins.txt", "-e .[dev]"]
    assert "PINS   ?= requirements/pins.txt" in make and '-e ".[dev]"' in make
    from configparser import ConfigParser

    setup = ConfigParser()
    setup.read(ROOT / "setup.cfg")
    extras = {k: set(v.split()) for k, v in setup["options.extras_require"].items()}
    for page in PAGES:
        text = page.read_text()
        for extra in re.findall(r"`\[(\w+)\]`", text):
            assert extra in extras, f"{page.name}: extra [{extra}]"
        for command in page_commands(page):
            for names in re.findall(r'pip install -e "\.\[([\w,]+)\]"', command):
                for extra in names.split(","):
                    assert extras.get(extra, {None}) <= extras["dev"], f"{command}: {extra}"


def _env() -> dict:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1", WANDB_MODE="offline")
    for key in ("LOCAL_RANK", "WANDB_SILENT", "WANDB_SERVICE"):
        env.pop(key, None)
    return env


def run(command: str, cwd: Path, *more: str) -> subprocess.CompletedProcess:
    """One page's command as typed, in bash, with its :data:`APPENDED` settings after it."""
    extra = next((v for k, v in APPENDED.items() if command.startswith(k + " ")), [])
    line = " ".join([command.split(" # ")[0], *extra, *more])
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def session(synthetic_data, tmp_path_factory):
    """:data:`SESSION` in order, in an empty folder holding ``data/synthetic`` and the
    configs' paths; the resume gets one more epoch than the run it resumes."""
    work = tmp_path_factory.mktemp("docs")
    (work / "data").mkdir()
    (work / "data" / "synthetic").symlink_to(synthetic_data, target_is_directory=True)
    (work / "lightning_vid").symlink_to(ROOT / "lightning_vid")
    done = {}
    for command in SESSION:
        more = ["--trainer.max_epochs=3"] if "--ckpt_path last" in command else []
        done[command] = run(command, work, *more)
    return work, done


def _step(session, prefix: str) -> subprocess.CompletedProcess:
    [step] = [d for c, d in session[1].items() if c.startswith(prefix)]
    return step


def test_every_command_of_the_cli_and_visualisation_pages_exits_0(session):
    assert len(SESSION) == 8
    for command, done in session[1].items():
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def test_fit_test_resume_and_print_config_as_the_cli_page_says(session):
    work, _ = session
    version = work / "runs/tsm_r18_4x1_synthetic/version_0"
    fit = session[1][_key("lightning-vid fit --config lightning_vid/configs/"
                          "tsm_r18_4x1_synthetic.yaml")]
    [best] = re.findall(r"best checkpoint: (\S+\.ckpt)", fit.stdout)
    assert best.startswith(str(version.relative_to(work)))
    # the best is kept (the resumed epoch may have replaced the fit's by a better one)
    assert len(list((version / "checkpoints").glob("epoch=*.ckpt"))) == 1
    test = _step(session, "lightning-vid test ")
    assert "test/acc1" in test.stdout + test.stderr
    # the resume continued the same run, in the same version, to the one more epoch
    assert not (work / "runs/tsm_r18_4x1_synthetic/version_1").exists()
    last = torch.load(version / "checkpoints/last.ckpt", map_location="cpu", weights_only=False)
    assert last["epoch"] == 2 and last["global_step"] == 6  # 3 epochs of 2 steps
    # --print_config gives the model and data the run used
    config = yaml.safe_load((work / "my.yaml").read_text())
    used = yaml.safe_load((version / "lightning_config.yaml").read_text())
    assert config["data"]["init_args"]["root"] == "data/synthetic"
    assert config["model"] == used["model"] and config["data"] == used["data"]


def test_wandb_sync_would_upload_each_offline_run_of_the_glob(session):
    work, _ = session
    runs = glob.glob(str(work / "runs/*/version_*/wandb/offline-run-*"))
    assert len(runs) >= 4  # fit, test, the resumed fit (the same W&B run), the TAM fit
    every = _step(session, "wandb sync runs/*/")
    one = _step(session, "wandb sync runs/tsm_r18_4x1_synthetic/")
    listed = lambda done: set(re.findall(r"(runs/\S+/offline-run-[^/\s]+)/", done.stdout +
                                         done.stderr))
    assert listed(every) == {str(Path(r).relative_to(work)) for r in runs}
    assert listed(one) == {r for r in listed(every) if r.startswith("runs/tsm_r18_4x1")} != set()


def test_the_figures_config_draws_during_fit_and_render_draws_every_figure(session):
    work, _ = session
    media = glob.glob(str(work / "runs/tam_r18_4x1_synthetic/version_0/wandb/offline-run-*/"
                                 "files/media/images/**/*.png"), recursive=True)
    assert any("gradcam" in m for m in media) and any("kernel" in m for m in media), media
    figures = sorted(p.name for p in (work / "figures").iterdir())
    assert figures and all(f.endswith(".svg") for f in figures)
    assert any("gradcam" in f for f in figures) and any("kernel" in f for f in figures), figures


def test_the_data_command_lists_its_tools(tmp_path):
    [command] = DATA_HELP
    done = run(command, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert all(tool in done.stdout for tool in ("synthetic", "extract", "reencode", "check"))


def test_the_start_up_benchmark_times_the_commands_against_the_import():
    [command] = STARTUP
    done = run(command, ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and
            "---" not in line][1:]
    assert len(rows) == 3 and 'import lightning.pytorch' in rows[0] and "1.00" in rows[0], rows


def test_the_decoding_benchmark_checks_every_frame_it_times():
    [command] = DECODE
    done = run(command, ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    timed = [line.split("|") for line in done.stdout.splitlines()
             if "| read_frames" in line]
    assert len(timed) == 3 * 2 * 2  # 3 videos, TSN and TDN clips, index cold and cached
    assert all(cells[5].strip() == "yes" and cells[6].strip() == "0" for cells in timed), timed
