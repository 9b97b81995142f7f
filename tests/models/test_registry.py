"""``register_block`` and the presets: a registration's wiring (placement, stages, select),
overridden per entry (``Insert``); named blocks are presets; new block files found with no
other edit; registration mistakes caught where they are made."""

import sys

import pytest
import torch
from torch import nn

import lightning_vid.blocks
from lightning_vid.blocks.tsm import TemporalShift
from lightning_vid.blocks.tam import TemporalAdaptiveModule
from lightning_vid.models import VideoRecognizer, build_model, list_models, presets
from lightning_vid.trunk import Insert, every_block, register_block
from lightning_vid.trunk import wiring

T = 4


@pytest.fixture
def unregister():
    """Blocks a test registers are gone afterwards."""
    names = []
    yield names
    for name in names:
        block = wiring._NAMED.pop(name, None)
        wiring._WIRINGS.pop(block, None)


def test_a_file_dropped_into_blocks_is_registered_with_no_other_edit(tmp_path, monkeypatch,
                                                                    unregister):
    (tmp_path / "dropped.py").write_text(
        "from torch import nn\n"
        "from lightning_vid.models import register_block\n\n\n"
        "@register_block('dropped', placement='after_conv1', stages=(4,))\n"
        "class Dropped(nn.Identity):\n"
        "    def __init__(self, channels: int, num_segments: int, *, scale: float = 1.0):\n"
        "        super().__init__()\n")
    monkeypatch.setattr(lightning_vid.blocks, "__path__", [*lightning_vid.blocks.__path__,
                                                          str(tmp_path)])
    monkeypatch.setattr(presets, "_BLOCKS_IMPORTED", False)  # as in a fresh process
    monkeypatch.delitem(sys.modules, "lightning_vid.blocks.dropped", raising=False)
    unregister.append("dropped")
    assert "dropped" in list_models()
    model = build_model("dropped", num_classes=3, num_segments=T, backbone="resnet18")
    wrapped = [n for n, m in model.named_modules() if type(m).__name__ == "Dropped"]
    assert wrapped == ["trunk.layer4.0.act1.temporal", "trunk.layer4.1.act1.temporal"]


def test_unknown_options_and_a_missing_num_classes_are_rejected():
    with pytest.raises(TypeError, match="fold_dvi"):
        build_model("tsm", num_classes=3, num_segments=T, backbone="resnet18", fold_dvi=4)
    with pytest.raises(TypeError, match="VideoRecognizer: num_classes is required"):
        VideoRecognizer(num_segments=T, backbone="resnet18")


def test_stages_and_options_reach_the_blocks():
    model = build_model("tsm", num_classes=3, num_segments=T, backbone="resnet18",
                        stages=(3, 4), fold_div=4)
    shifts = {n: m for n, m in model.named_modules() if isinstance(m, TemporalShift)}
    assert sorted(shifts) == [f"trunk.layer{s}.{i}.conv1.temporal" for s in (3, 4) for i in (0, 1)]
    assert {m.fold_div for m in shifts.values()} == {4}
    with pytest.raises(ValueError, match="stages are 1..4"):
        build_model("tsm", num_classes=3, num_segments=T, backbone="resnet18", stages=(0,))


def test_tcm_is_tsms_shift_plus_its_block_and_the_shift_can_be_switched_off():
    """The ``tcm`` preset = TSM's shift in every block, then TCM after res3; ``shift`` and
    TSM's ``fold_div`` are its options."""
    tcm = build_model("tcm", num_classes=3, num_segments=T, backbone="resnet18", fold_div=4)
    shifts = [m for m in tcm.modules() if isinstance(m, TemporalShift)]
    assert len(shifts) == 8 and {m.fold_div for m in shifts} == {4}
    assert tcm.trunk.layer2.stage[0].conv1.temporal is shifts[2]  # inside the wrapped stage
    plain = build_model("tcm", num_classes=3, num_segments=T, backbone="resnet18", shift=False)
    assert not any(isinstance(m, TemporalShift) for m in plain.modules())


def test_registration_mistakes_are_caught_where_they_are_made(unregister):
    with pytest.raises(KeyError, match="'tsm' is already registered by lightning_vid.blocks.tsm"):
        register_block("tsm", placement="before_conv1")(type("Other", (nn.Identity,), {}))
    with pytest.raises(ValueError, match="unknown placement 'before_conv2'"):
        register_block("x", placement="before_conv2")
    with pytest.raises(ValueError, match="stages are 1..4"):
        register_block("x", placement="after_conv1", stages=(0,))

    class KeywordsOnly(nn.Identity):
        def __init__(self, *, channels: int, num_segments: int) -> None:
            super().__init__()

    with pytest.raises(TypeError, match=r"block\(channels, num_segments"):
        register_block("x", placement="after_conv1")(KeywordsOnly)
    assert "x" not in list_models()
    with pytest.raises(ValueError, match="not a registered temporal block.*Insert"):
        VideoRecognizer(3, T, "resnet18", blocks=[nn.Identity])


def test_an_entry_overrides_its_blocks_wiring():
    """``Insert`` moves a block (TAM before conv1 of res5 only, every block) without a new
    registration; an unregistered module goes anywhere once a placement is given."""
    model = VideoRecognizer(3, T, "resnet18", blocks=[
        Insert(TemporalAdaptiveModule, placement="before_conv1", stages=(4,)),
        Insert(TemporalShift, select=every_block, stages=(1,)),
        Insert(nn.Identity, placement="after_stage", stages=(2,))])
    tams = [n for n, m in model.named_modules() if isinstance(m, TemporalAdaptiveModule)]
    assert tams == ["trunk.layer4.0.conv1.temporal", "trunk.layer4.1.conv1.temporal"]
    shifts = [n for n, m in model.named_modules() if isinstance(m, TemporalShift)]
    assert shifts == ["trunk.layer1.0.conv1.temporal", "trunk.layer1.1.conv1.temporal"]
    assert isinstance(model.trunk.layer2.temporal, nn.Identity)
    assert model(torch.randn(1, T, 3, 32, 32)).shape == (1, 3)


def test_a_notebook_can_register_the_same_block_again(unregister):
    """Re-running the cell that defines a block replaces its registration."""
    unregister.append("again")
    for gain in (1.0, 2.0):
        @register_block("again", placement="before_conv1", stages=(4,))
        class Again(nn.Module):
            def __init__(self, channels: int, num_segments: int, *, gain: float = gain) -> None:
                super().__init__()
                self.gain = gain

            def forward(self, x):
                return x * self.gain

    model = build_model("again", num_classes=3, num_segments=T, backbone="resnet18")
    assert model.trunk.layer4[0].conv1.temporal.gain == 2.0
    assert model(torch.randn(1, T, 3, 32, 32)).shape == (1, 3)
