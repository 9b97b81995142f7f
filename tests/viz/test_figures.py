"""The picture test: each figure type rendered once, checked for what a reader relies on.

Each figure was looked at as a person would when it was written (sizes, axes, colour maps,
captions); these assertions keep that structure: the pixel size, the panels, the colour
maps and their ranges, the labels naming stage and block, and colours that mean something.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from lightning_vid.data.synthetic import render_clip
from lightning_vid.viz import figures
from lightning_vid.viz.images import figure_to_array, flow_to_rgb, save_png
from lightning_vid.viz.interpret import View

T, S = 4, 48  # frames, pixels


@pytest.fixture(scope="module")
def frames():
    clip = render_clip(0, np.random.default_rng(0), size=S, frames=T)  # move_left
    return clip.astype(np.float32) / 255


def _check_image(fig, tmp_path, name):
    """The drawn figure is exactly figsize * dpi pixels, not blank, and saves as that PNG."""
    array = figure_to_array(fig)
    w, h = (fig.get_size_inches() * fig.dpi).round().astype(int)
    assert array.shape == (h, w, 3) and array.dtype == np.uint8 and array.std() > 10
    with Image.open(save_png(array, tmp_path / f"{name}.png")) as im:
        assert im.size == (w, h) and im.mode == "RGB"
    return array


def _at(fig, row: int, col: int):
    """The panel at grid cell (row, col): row 0 the frames, row r the r-th block (or field),
    column t frame t, the last column the row's colour bar or colour key."""
    found = [ax for ax in fig.axes if ax.get_subplotspec() is not None
             and (ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start)
             == (row, col)]
    assert len(found) == 1, (row, col, len(found))
    return found[0]


def _titled(fig, prefix: str):
    [ax] = [ax for ax in fig.axes if ax.get_title().startswith(prefix)]
    return ax


def _bar_cmap(ax) -> str:
    """The colour map a colour bar shows."""
    from matplotlib.collections import QuadMesh

    [mesh] = [c for c in ax.collections if isinstance(c, QuadMesh)]
    return mesh.get_cmap().name


def _bars(fig):
    [ax] = [ax for ax in fig.axes if ax.patches]
    return ax


def _frames_readable(fig):
    """Every frame panel of the top row at least an inch wide at the figure's dpi, all alike."""
    widths = {round(_at(fig, 0, t).get_window_extent().width) for t in range(T)}
    assert len(widths) == 1 and widths.pop() >= fig.dpi


def test_kernel_violins_per_stage_and_offset_compare_checkpoints(tmp_path):
    kernel = torch.tensor([0.6, 0.3, 0.1]).expand(2, 16, 3)  # mass on t-1
    views = {"epoch 0": [View("trunk.layer1.0.act1.temporal", "TAM", "kernel", "kernel", kernel),
                         View("trunk.layer3.1.act1.temporal", "TAM", "kernel", "kernel",
                              kernel.flip(-1))],
             "epoch 9": [View("trunk.layer1.0.act1.temporal", "TAM", "kernel", "kernel",
                              kernel + torch.rand(2, 16, 3) * 0.1)]}
    fig = figures.violins(views, "TAM kernels")
    _check_image(fig, tmp_path, "violins")
    ax1, ax3 = _titled(fig, "res2 (layer1)"), _titled(fig, "res4 (layer3)")
    assert ax1.get_title() == "res2 (layer1), 1 block(s)"
    assert ax3.get_title() == "res4 (layer3), 1 block(s)" and len(fig.axes) == 2
    assert [t.get_text() for t in ax1.get_xticklabels()] == ["t-1", "t", "t+1"]
    assert ax1.get_ylabel() == "kernel weight" and fig._suptitle.get_text() == "TAM kernels"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["epoch 0", "epoch 9"]
    medians = ax3.collections[-1].get_segments()  # epoch 0 at res4: (0.1, 0.3, 0.6) by offset
    assert [round(float(seg[0][1]), 2) for seg in medians] == [0.1, 0.3, 0.6]
    hist = figures.violins(views, "TAM kernels", style="hist")
    _check_image(hist, tmp_path, "histograms")
    res2 = _titled(hist, "res2")
    assert res2.get_xlabel() == "kernel weight" and res2.get_ylabel() == "count"


def test_channel_heatmaps_one_row_per_block_with_fitting_colour_maps(frames, tmp_path):
    signed = View("trunk.layer2.0.act1.temporal", "MotionExcitation", "attention", "channel",
                  torch.zeros(1, T, 8))
    signed.data[0, 1, 3] = -0.4
    signed.data[0, 2, 5] = 0.2
    positive = View("trunk.layer3.0.act1.temporal", "TAM", "importance", "channel",
                    torch.rand(1, T, 32) * 0.2 + 0.4)
    fig = figures.channel_heatmaps(frames, [(signed, signed.data[0].numpy()),
                                            (positive, positive.data[0].numpy())], "clip A")
    _check_image(fig, tmp_path, "channels")
    assert [_at(fig, 0, t).get_title() for t in range(T)] == [f"t={t}" for t in range(T)]
    _frames_readable(fig)
    rows = [_at(fig, 1, 0), _at(fig, 2, 0)]  # a block's map spans the frame columns
    assert "res3 block 0\nMotionExcitation\nattention" in rows[0].get_ylabel()
    (img0,), (img1,) = rows[0].get_images(), rows[1].get_images()
    assert img0.get_array().shape == (8, T)  # channels down, frames across
    assert img0.get_cmap().name == "RdBu_r"
    assert img0.get_clim() == pytest.approx((-0.4, 0.4))  # symmetric around 0
    assert img1.get_cmap().name == "viridis"
    lo, hi = img1.get_clim()
    assert lo == pytest.approx(positive.data.min()) and hi == pytest.approx(positive.data.max())
    assert _at(fig, 1, T).get_ylabel() == "value"  # each row's colour bar says what it shows
    assert _at(fig, 2, T).get_ylim() == pytest.approx((lo, hi))
    assert fig._suptitle.get_text() == "clip A"


def test_frame_heatmaps_overlay_each_frame_on_one_scale_per_row(frames, tmp_path):
    maps = torch.zeros(1, T, 4, 4)
    maps[0, 0, 0, 0] = 2.0  # frame 0 hot top-left, frame 3 half as hot bottom-right
    maps[0, 3, 3, 3] = 1.0
    view = View("trunk.layer3.0.conv1.temporal", "TemporalRelocation", "relocation", "spatial",
                maps)
    zero = View("trunk.layer4.0.conv1.temporal", "TemporalRelocation", "relocation", "spatial",
                torch.zeros(1, T, 2, 2))
    grey = np.full_like(frames, 0.5)  # uniform frames: the overlay's colour is the map's alone
    fig = figures.frame_heatmaps(grey, [(view, maps[0].numpy()), (zero, zero.data[0].numpy())],
                                 "clip B")
    _check_image(fig, tmp_path, "frame_heatmaps")
    _frames_readable(fig)
    row = [_at(fig, 1, t) for t in range(T)]
    assert "res4 block 0\nTemporalRelocation\nrelocation\n4x4 map" == row[0].get_ylabel()
    assert "all 0" in _at(fig, 2, 0).get_ylabel()  # an untrained TRM says so
    assert _at(fig, 1, T).get_ylim() == (0.0, 2.0)  # one scale for the clip: [0, max]
    hot0, hot3 = (ax.get_images()[0].get_array() for ax in (row[0], row[3]))
    # inferno's red rises with the value: frame 0's spot hotter than frame 3's, both than 0
    assert hot0[0, 0, 0] > hot3[-1, -1, 0] > hot3[0, 0, 0]
    assert _bar_cmap(_at(fig, 1, T)) == "inferno"  # perceptually uniform


def test_flow_colours_follow_the_middlebury_key():
    still, right, left, up, down = (flow_to_rgb(np.array(v, np.float32).reshape(2, 1, 1), 1.0)[0, 0]
                                    for v in ((0, 0), (1, 0), (-1, 0), (0, -1), (0, 1)))
    assert np.allclose(still, 1.0)  # white: no motion
    assert right[0] > 0.9 and right[2] < 0.3  # red
    assert left[0] < 0.1 and left[1] > 0.8 and left[2] > 0.5  # cyan
    assert up[2] > 0.8 and up[0] < 0.8 and up[1] < 0.2  # blue to violet
    assert down[0] > 0.8 and down[1] > 0.5 and down[2] < 0.1  # orange to yellow
    half = flow_to_rgb(np.array([0.5, 0], np.float32).reshape(2, 1, 1), 1.0)[0, 0]
    assert 1 > half[1] > right[1]  # shorter: paler


def test_flow_fields_rows_per_field_and_a_colour_key(frames, tmp_path):
    flow = torch.zeros(1, T, 2, 2, 4, 4)
    flow[:, :, 0, 0] = -1.0  # fast field: everything moves left
    flow[:, :, 1, 1] = 0.5  # slow field: down, half as far
    view = View("trunk.layer2.temporal", "TemporalCorrelation", "displacement", "flow", flow)
    fig = figures.flow_fields(frames, [(view, flow[0].numpy())], "clip C")
    _check_image(fig, tmp_path, "flow")
    fast, slow = _at(fig, 1, 0), _at(fig, 2, 0)
    assert fast.get_ylabel().endswith("(fast)") and slow.get_ylabel().endswith("(slow)")
    assert "res3 (after stage)" in fast.get_ylabel()
    left = fast.get_images()[0].get_array()[0, 0]
    assert left[0] < 0.1 and left[2] > 0.5  # cyan
    keys = [ax for ax in fig.axes if ax.get_title().startswith("max |d|")]
    assert [k.get_title() for k in keys] == ["max |d| 1", "max |d| 0.5"]


def test_gradcam_figure_frames_overlays_and_shares(frames, tmp_path):
    cam = np.zeros((T, S, S), np.float32)
    cam[1] = 1.0
    cam[2, :, : S // 2] = 0.5
    shares = cam.reshape(T, -1).sum(1) / cam.sum()
    fig = figures.gradcam_figure(frames, cam, shares, "clip D | pred move_left", "trunk.layer4")
    _check_image(fig, tmp_path, "gradcam")
    _frames_readable(fig)
    bars = _bars(fig)
    assert [round(p.get_height(), 3) for p in bars.patches] == [0.0, 0.8, 0.2, 0.0]
    assert [t.get_text() for t in bars.texts] == ["0%", "80%", "20%", "0%"]
    assert _at(fig, 1, 0).get_ylabel() == "Grad-CAM\ntrunk.layer4"
    assert _at(fig, 1, T).get_ylabel() == "per-video scale"
    assert _bar_cmap(_at(fig, 1, T)) == "inferno"
    assert fig._suptitle.get_text() == "clip D | pred move_left"


def test_an_all_zero_gradcam_says_so(frames):
    fig = figures.gradcam_figure(frames, np.zeros((T, S, S), np.float32), np.zeros(T))
    bars = _bars(fig)
    assert "0 everywhere" in bars.texts[-1].get_text()
    assert bars.get_ylim() == (0.0, 1.0)
