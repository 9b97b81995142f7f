"""The benchmark scripts' contracts: the zoo reads the table the demo writes, and measures
every architecture from its synthetic config."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert tsn["train_cps"] > 0 and tsn["infer_cps"] > 0 and tsn["peak_mib"] != tsn["peak_mib"]  # nan: not measured
    text = zoo.table(rows, {"tsn": 50.0, "tsm": 90.0})
    tsn_line = next(line for line in text.splitlines() if line.startswith("| tsn |"))
    assert tsn_line.count("(1.00x)") == 4  # the measured columns, relative to itself
