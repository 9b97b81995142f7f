"""The trunk adapter: the only place that knows timm's modules. Its stem-and-stages path equals
timm's ``forward_features``, its slots put blocks where the placements say, and a plain 2D
checkpoint's names find their wrapped modules."""

import pytest
import torch
from torch import nn

from lightning_vid.models import build_model, load_weights
from lightning_vid.trunk.adapter import (
    canonical_key,
    create_trunk,
    features,
    insert,
    locate,
    stages,
)


def test_fusion_points_run_the_stages_as_forward_features():
    trunk = create_trunk("resnet18").eval()
    x = torch.randn(2, 3, 32, 32)
    seen = []
    fuse = {p: (lambda h, p=p: seen.append(p) or h) for p in ("stem", "layer1", "layer4")}
    with torch.no_grad():
        torch.testing.assert_close(features(trunk, x, fuse), features(trunk, x))
        doubled = features(trunk, x, {"layer4": lambda h: 2 * h})
        assert torch.allclose(doubled, 2 * features(trunk, x))  # the pooling is linear
    assert seen == ["stem", "layer1", "layer4"]
    with pytest.raises(ValueError, match="unknown fusion points"):
        features(trunk, x, {"layer5": lambda h: h})


def test_slots_wrap_the_original_module_and_keep_it():
    block = create_trunk("resnet18").layer2[0]
    conv1, act1 = block.conv1, block.act1
    insert(block, "before_conv1", lambda c, target: nn.Identity())
    insert(block, "after_conv1", lambda c, target: nn.Identity())
    assert list(block.conv1.named_children()) == [("temporal", block.conv1.temporal),
                                                  ("conv", conv1)]
    assert list(block.act1.named_children()) == [("act", act1), ("temporal", block.act1.temporal)]
    res2net = create_trunk("res2net50_26w_4s").layer1[0]
    with pytest.raises(ValueError, match="'replace_conv2' does not exist in a res2net block"):
        insert(res2net, "replace_conv2", lambda c, target: nn.Identity())
    widths = []
    insert(res2net, "before_subconvs", lambda c, target: widths.append(c) or nn.Identity())
    assert widths == [26, 26, 26] and all(hasattr(c, "temporal") for c in res2net.convs)


@pytest.mark.parametrize("arch,backbone", [("tsm", "resnet18"), ("tcm", "resnet18"),
                                           ("tam", "resnet18"), ("tea", "res2net50_26w_4s")])
def test_a_plain_2d_checkpoint_fills_every_trunk_weight_of_a_wrapped_model(arch, backbone):
    """The wrappers' names (conv1.conv, act1.act, bn1.bn, convs.i.conv, layerN.stage) are read
    as the 2D names: a TSN checkpoint initialises the trunk of any architecture."""
    tsn = build_model("tsn", num_classes=3, num_segments=4, backbone=backbone)
    model = build_model(arch, num_classes=3, num_segments=4, backbone=backbone, input_size=32)
    report = load_weights(model, tsn.state_dict())
    assert not [k for k in report.missing if ".temporal." not in k]  # only the new modules
    assert report.unexpected == ["fc.bias", "fc.weight"]  # skipped on the model's side
    trunk = dict(tsn.trunk.named_parameters())
    for key, value in model.trunk.named_parameters():
        if ".temporal." not in key:
            assert torch.equal(value, trunk[canonical_key(key)])


def test_canonical_names_and_locations():
    assert canonical_key("trunk.layer2.stage.1.conv1.conv.weight") == "trunk.layer2.1.conv1.weight"
    assert canonical_key("trunk.layer1.0.bn1.bn.running_mean") == "trunk.layer1.0.bn1.running_mean"
    assert canonical_key("trunk.layer1.2.convs.1.conv.weight") == "trunk.layer1.2.convs.1.weight"
    assert canonical_key("trunk.layer1.0.act1.temporal.conv.weight") == (
        "trunk.layer1.0.act1.temporal.conv.weight")  # a block's own conv is not a wrapper
    assert locate("model.trunk.layer3.4.conv1.temporal") == (3, 4)
    assert locate("trunk.layer2.stage.1.conv1.temporal") == (2, 1)
    assert locate("trunk.layer2.temporal") == (2, None) and locate("short_term") == (None, None)


def test_stages_see_through_a_wrapped_stage():
    model = build_model("tcm", num_classes=3, num_segments=4, backbone="resnet18")
    assert stages(model.trunk)[1] is model.trunk.layer2.stage
