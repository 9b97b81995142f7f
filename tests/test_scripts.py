"""The benchmark scripts' contracts: the zoo reads the table the demo writes, and measures
every architecture from its synthetic config."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name: str):
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def zoo():
    return _load("zoo")


def test_zoo_reads_the_demo_table(zoo, tmp_path):
    demo = _load("demo")
    rows = [{"arch": "tsn", "config": "a.yaml", "acc1": 0.4625, "acc5": 1.0, "params": 11.2e6,
             "train_s": 200.0, "epochs": 8},
            {"arch": "tsm", "config": "b.yaml", "acc1": 0.9675, "acc5": 1.0, "params": 11.2e6,
             "train_s": 210.0, "epochs": 8}]
    (tmp_path / "bench.md").write_text(demo.table(rows) + "\n\nMachine: 2 CPU cores\n")
    assert zoo.read_results(tmp_path / "bench.md") == {"tsn": 46.2, "tsm": 96.8}
    (tmp_path / "empty.md").write_text("no table\n")
    with pytest.raises(SystemExit, match="empty.md"):
        zoo.read_results(tmp_path / "empty.md")


def test_zoo_measures_from_the_config_and_reports_relative_to_tsn(zoo):
    rows = zoo.measure(["tsn", "tsm"], steps=1, memory=False)
    child = subprocess.run([sys.executable, str(SCRIPTS / "zoo.py"), "--peak-memory", "tsn"],
                           capture_output=True, text=True, check=True)
    assert float(child.stdout) > 10  # MiB: activations and gradients of a training step
    tsn, tsm = rows
    assert tsn["params"] == tsm["params"] and tsn["gmacs_bench"] == tsm["gmacs_bench"]  # shift
    assert 0 < tsn["gmacs_bench"] < tsn["gmacs_r50"] and tsn["frames"] == 4
    assert tsn["train_cps"] > 0 and tsn["infer_cps"] > 0
    assert tsn["peak_mib"] != tsn["peak_mib"]  # nan: not measured
    text = zoo.table(rows, {"tsn": 50.0, "tsm": 90.0})
    tsn_line = next(line for line in text.splitlines() if line.startswith("| tsn |"))
    assert tsn_line.count("(1.00x)") == 4  # the measured columns, relative to itself


def test_the_bench_gives_a_module_on_another_trunk_a_tsn_on_that_trunk():
    """TEA is built only on Res2Net-50: ``--arch all`` trains ``tsn@res2net50_26w_4s`` before
    it, whose config is TSN's on TEA's trunk under its own run name."""
    demo = _load("demo")
    assert demo.with_references(["tsn", "tam", "tea"]) == [
        "tsn", "tam", "tsn@res2net50_26w_4s", "tea"]
    config, overrides = demo.config_for("tsn@res2net50_26w_4s")
    assert Path(config).name == "tsn_r18_4x1_synthetic.yaml"
    assert overrides == ["--model.model.init_args.backbone=res2net50_26w_4s",
                         "--run_name=tsn_r2n50_4x1_synthetic"]
    with pytest.raises(ValueError, match="'resnet18'.*res2net50_26w_4s"):
        demo.config_for("tea@resnet18")


def _row(arch, backbone, cps, gmacs):
    return {"arch": arch, "backbone": backbone, "params": 1e6, "gmacs_r50": gmacs,
            "gmacs_bench": gmacs / 100, "train_cps": cps, "infer_cps": cps, "peak_mib": 100.0,
            "frames": 4, "crop": 48, "batch": 16, "threads": 2}


def test_the_zoo_reports_each_module_relative_to_tsn_on_its_own_trunk(zoo, tmp_path):
    """TEA's throughput and GMACs divide by TSN on Res2Net-50's, the others' by TSN's."""
    rows = [_row("tsn", "resnet18", 60.0, 32.0), _row("tsm", "resnet18", 30.0, 32.0),
            _row("tsn@res2net50_26w_4s", "res2net50_26w_4s", 20.0, 34.0),
            _row("tea", "res2net50_26w_4s", 10.0, 34.0)]
    assert zoo.reference(rows[3], rows) is rows[2] and zoo.reference(rows[1], rows) is rows[0]
    top1 = {"tsn": 32.0, "tsm": 96.0, "tsn@res2net50_26w_4s": 33.0, "tea": 90.0}
    lines = zoo.table(rows, top1).splitlines()
    tea = next(line for line in lines if line.startswith("| tea |"))
    assert "| r2n50 | 90.0 % |" in tea and tea.count("(0.50x)") == 2  # clips/s: 10 / 20
    demo = _load("demo")  # the training table it reads names such rows the same way
    trained = [{"arch": arch, "config": "a.yaml", "acc1": acc / 100, "acc5": 1.0, "params": 1e6,
                "train_s": 60.0, "epochs": 8} for arch, acc in top1.items()]
    (tmp_path / "bench.md").write_text(demo.table(trained))
    assert zoo.read_results(tmp_path / "bench.md") == top1


def test_bench_speed_compares_eager_and_compiled_throughput_side_by_side():
    """``scripts/bench_speed.py --compile``: the eager / compiled table, one row per model,
    each checked against eager before it is timed (``aot_eager`` here: the table, not
    inductor's code generation, which tests/test_cli_compile.py runs)."""
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_speed.py"), "--compile", "--compile-backend",
         "aot_eager", "--arch", "tsm", "--backbone", "resnet18", "--size", "32", "--segments",
         "2", "--batch", "2", "--repeats", "1", "--threads", "1"],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    table = done.stdout.split("eager vs torch.compile (aot_eager)")[1]
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ts")]
    assert [r[0].strip() for r in rows] == ["tsn", "tsm"]
    for row in rows:
        eager, compiled, ratio = (float(v.strip(" x")) for v in row[1:4])
        # clips/s printed to 0.1, the ratio to 0.01, from the unrounded values
        slack = 0.005 + ratio * (0.05 / eager + 0.05 / compiled) * 1.01
        assert eager > 0 and compiled > 0 and abs(ratio - compiled / eager) <= slack
        assert float(row[7]) < 1e-3  # compiled logits / eager, relative to the largest


def test_pair_accuracy_counts_the_direction_within_each_time_reversal_pair():
    """Against a count by hand: a model blind to order (equal scores for a class and its
    partner, every clip) is at 0 % direction (ties are not right), one that always picks
    the first class of a pair at 50 %."""
    demo = _load("demo")
    names = ["left", "right", "up", "down"]
    label = torch.tensor([0, 1, 0, 1, 2, 3, 3, 3])
    first = torch.tensor([[3., 1, 0, 0]] * 4 + [[0, 0, 3., 1]] * 4)  # always 0 or 2
    pairs = demo.pair_accuracy(first, label, names)
    assert [(p["pair"], p["clips"]) for p in pairs] == [("left / right", 4), ("up / down", 4)]
    assert [(p["top1"], p["direction"]) for p in pairs] == [(0.5, 0.5), (0.25, 0.25)]
    tie = torch.tensor([[1., 1, 0, 0]] * 4 + [[0, 0, 1., 1]] * 4)
    assert all(p["direction"] == 0.0 for p in demo.pair_accuracy(tie, label, names))


@pytest.mark.parametrize("jobs", [2, 1])
def test_the_demo_trains_tests_and_draws_each_pair(tmp_path, monkeypatch, jobs):
    """``make demo``'s command with tiny settings appended: both tables, the
    per-pair figure, the run folders the notebooks read."""
    from lightning_vid.data.synthetic import generate

    data = generate(tmp_path / "data", num_train=8, num_val=4, num_test=8, size=32, frames=16,
                    workers=1, verbose=False)
    monkeypatch.chdir(tmp_path)
    demo = _load("demo")
    tiny = ["--data.init_args.batch_size=4", "--data.init_args.num_workers=0",
            "--trainer.max_epochs=1", "--trainer.limit_train_batches=1", "--trainer.logger=false",
            "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    # 2 jobs: one process and one thread each, as `make demo` runs on this 2-core machine;
    # 1: one after the other in this process (`make bench`)
    assert demo.main(["--data", str(data), "--jobs", str(jobs), "--out", "runs/demo.md",
                      "--", *tiny]) == 0
    text = (tmp_path / "runs/demo.md").read_text()
    assert "| tsn |" in text and "| tsm |" in text and "tsm_r18_4x1_synthetic.yaml" in text
    assert ("2 models at a time" in text) == (jobs == 2)
    assert "| move_left / move_right (2 clips) |" in text  # 8 test clips: 2 per pair
    assert (tmp_path / "runs/demo.png").stat().st_size > 10_000
    assert (tmp_path / "runs/tsm_r18_4x1_synthetic/version_0/checkpoints/last.ckpt").is_file()
    for arch in ("tsn", "tsm"):  # each job's whole output is kept
        log = tmp_path / f"runs/demo/{arch}.log"
        assert ("epoch 1/1" in log.read_text()) if jobs == 2 else not log.exists()


def test_a_failed_demo_job_stops_the_demo_and_shows_its_log(tmp_path, monkeypatch):
    from lightning_vid.data.synthetic import generate

    data = generate(tmp_path / "data", num_train=8, num_val=4, num_test=8, size=32, frames=16,
                    workers=1, verbose=False)
    monkeypatch.chdir(tmp_path)
    demo = _load("demo")
    with pytest.raises(RuntimeError, match=r"(?s)(tsn|tsm) failed \(exit 2\).*no_such_option"):
        demo.main(["--data", str(data), "--jobs", "2", "--out", "runs/demo.md", "--",
                   "--trainer.no_such_option=1"])
    assert not (tmp_path / "runs/demo.md").exists()
