"""``register_block``: what a registration gives (a typed model class, build_model, the zoo
names) and what it says (stages, select, combined architectures); new block files found with
no other edit; registration mistakes caught where they are made."""

import inspect
import sys
from typing import Literal, get_type_hints

import pytest
import torch
from torch import nn

import lightning_vid.blocks
from lightning_vid.blocks.tsm import TemporalShift
from lightning_vid.models import (
    build_model,
    get_architecture,
    list_models,
    register_block,
    registry,
    zoo,
)

T = 4


@pytest.fixture
def unregister():
    """Architectures a test registers are gone afterwards (and their generated classes)."""
    names = []
    yield names
    for name in names:
        arch = registry._ARCHS.pop(name, None)
        if arch is not None and arch.module in sys.modules:
            vars(sys.modules[arch.module]).pop(arch.class_name, None)


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
    monkeypatch.setattr(registry, "_BLOCKS_IMPORTED", False)  # as in a fresh process
    monkeypatch.delitem(sys.modules, "lightning_vid.blocks.dropped", raising=False)
    unregister.append("dropped")
    assert "dropped" in list_models()
    model = build_model("dropped", num_classes=3, num_segments=T, backbone="resnet18")
    wrapped = [n for n, m in model.named_modules() if type(m).__name__ == "Dropped"]
    assert wrapped == ["trunk.layer4.0.act1.temporal", "trunk.layer4.1.act1.temporal"]


@pytest.mark.parametrize("arch", ["tsm", "tam", "tea", "tdn", "tcm", "trm"])
def test_the_model_class_has_the_blocks_options_typed(arch):
    spec = get_architecture(arch)
    cls = spec.model_class
    params = inspect.signature(cls).parameters
    hints = get_type_hints(cls.__init__)
    for option in spec.options:  # the block's keyword options, with its annotations
        assert params[option.name].default == option.default
        assert params[option.name].kind is inspect.Parameter.KEYWORD_ONLY
        assert hints[option.name] == option.annotation
    assert list(params)[:6] == ["num_classes", "num_segments", "backbone", "pretrained",
                                "input_size", "dropout"]
    assert params["stages"].default == spec.stages
    assert cls.__module__ == spec.module and getattr(sys.modules[spec.module], cls.__name__) is cls
    assert getattr(zoo, cls.__name__) is cls and getattr(zoo, arch) is cls  # older configs


def test_literal_options_and_unknown_options_are_rejected():
    assert get_type_hints(get_architecture("tam").model_class.__init__)["variant"] == Literal[
        "tanet", "tanet_r", "global", "local"]
    with pytest.raises(TypeError, match="fold_dvi"):
        build_model("tsm", num_classes=3, num_segments=T, backbone="resnet18", fold_dvi=4)
    with pytest.raises(TypeError, match="TSM: num_classes is required"):
        get_architecture("tsm").model_class(num_segments=T, backbone="resnet18")
    with pytest.raises(AttributeError, match="registered ones: .*TANet"):
        zoo.NotAModel  # noqa: B018


def test_stages_and_options_reach_the_blocks():
    model = build_model("tsm", num_classes=3, num_segments=T, backbone="resnet18",
                        stages=(3, 4), fold_div=4)
    shifts = {n: m for n, m in model.named_modules() if isinstance(m, TemporalShift)}
    assert sorted(shifts) == [f"trunk.layer{s}.{i}.conv1.temporal" for s in (3, 4) for i in (0, 1)]
    assert {m.fold_div for m in shifts.values()} == {4}
    with pytest.raises(ValueError, match="stages are 1..4"):
        build_model("tsm", num_classes=3, num_segments=T, backbone="resnet18", stages=(0,))


def test_a_combined_architecture_is_injected_first_and_can_be_switched_off():
    """TCM = TSM's shift in every block, then TCM after res3; ``shift`` and TSM's ``fold_div``
    are TCM's arguments."""
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
    with pytest.raises(ValueError, match="frame_hook"):
        register_block("x", placement="after_conv1", frames_per_segment=3)

    class NoDefault(nn.Identity):
        def __init__(self, channels: int, num_segments: int, *, width: int) -> None:
            super().__init__()

    with pytest.raises(TypeError, match="option 'width' needs a default"):
        register_block("x", placement="after_conv1")(NoDefault)
    assert "x" not in list_models()


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
