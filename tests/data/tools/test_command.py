"""``lightning-vid-data``: one installed command for the dataset tools; usage errors exit 2."""

import json


def test_the_command_lists_its_tools_and_writes_the_synthetic_benchmark(tmp_path, run_tool):
    run = run_tool("--help")
    assert run.returncode == 0
    assert all(tool in run.stdout for tool in ("extract", "reencode", "check", "synthetic"))
    run = run_tool("synthetic", "--out", str(tmp_path / "s"), "--num-train", "8", "--num-val",
                   "0", "--num-test", "0", "--size", "32", "--frames", "8", "--workers", "1")
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "s" / "meta.json").read_text())["num_train"] == 8
    assert len(list((tmp_path / "s" / "videos" / "train").glob("*.mp4"))) == 8
    assert run_tool("extract", "--out", str(tmp_path)).returncode != 0  # no inputs
    assert run_tool("resize").returncode == 2  # not a tool
