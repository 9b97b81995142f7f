"""``lightning-vid-render``: figures for a checkpoint and video files, without training."""

from pathlib import Path

from PIL import Image

from lightning_vid.data import count_frames
from lightning_vid.viz.render import main

T = 4


def test_renders_every_figure_of_the_model_with_gif_and_mp4(cli_run, tmp_path, capsys):
    videos = [str(Path(cli_run["data"], "videos/val", name))
              for name in ("00000_move_left.mp4", "00003_move_down.mp4")]
    out = tmp_path / "figures"
    code = main(["--ckpt", str(cli_run["ckpt"]), "--video", *videos, "--out", str(out),
                 "--gif", "--mp4", "--label", "move_left", "3", "--target", "label"])
    assert code == 0
    printed = set(capsys.readouterr().out.split())
    expected = {f"{stem}_{kind}" for stem in ("00000_move_left", "00003_move_down") for kind in
                ("channel.png", "spatial.png", "flow.png", "gradcam.png", "gradcam.gif",
                 "gradcam.mp4", "maps.gif", "maps.mp4")}  # TCM: no kernels.png
    assert {p.name for p in out.iterdir()} == expected
    assert printed == {str(out / name) for name in expected}
    for png in out.glob("*.png"):
        with Image.open(png) as im:
            im.verify()
    with Image.open(out / "00000_move_left_maps.gif") as gif:
        w, h = gif.size  # the frame, confidence fast and slow, flow fast and slow
        assert gif.n_frames == T and w == 5 * h
    assert count_frames(out / "00003_move_down_gradcam.mp4") == T


def test_errors_are_one_line_and_exit_code_2(cli_run, tmp_path, capsys):
    code = main(["--ckpt", str(cli_run["ckpt"]), "--video", str(tmp_path / "missing.mp4"),
                 "--out", str(tmp_path)])
    assert code == 2 and "missing.mp4" in capsys.readouterr().err


def test_figures_for_a_paper_as_vector_files_or_at_a_chosen_dpi(cli_run, tmp_path, capsys):
    video = str(Path(cli_run["data"], "videos/val/00000_move_left.mp4"))
    common = ["--ckpt", str(cli_run["ckpt"]), "--video", video, "--no-gradcam"]
    assert main([*common, "--out", str(tmp_path / "pdf"), "--format", "pdf"]) == 0
    assert main([*common, "--out", str(tmp_path / "svg"), "--format", "svg"]) == 0
    assert main([*common, "--out", str(tmp_path / "100"), "--dpi", "100"]) == 0
    assert main([*common, "--out", str(tmp_path / "200"), "--dpi", "200",
                 "--cmap", "viridis"]) == 0
    kinds = ("channel", "spatial", "flow")  # TCM's
    for kind in kinds:
        assert (tmp_path / f"pdf/00000_move_left_{kind}.pdf").read_bytes().startswith(b"%PDF")
        assert "<svg" in (tmp_path / f"svg/00000_move_left_{kind}.svg").read_text()[:2000]
        with Image.open(tmp_path / f"100/00000_move_left_{kind}.png") as small, \
                Image.open(tmp_path / f"200/00000_move_left_{kind}.png") as large:
            assert large.size == (2 * small.size[0], 2 * small.size[1])
