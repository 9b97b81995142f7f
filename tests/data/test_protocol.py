"""Evaluation protocols: views, the words logged next to the metrics, the samplers and view
transforms they build, and the settings they refuse."""

import pytest
import torch

from lightning_vid.data.protocol import EvalProtocol


def test_views_and_description():
    assert EvalProtocol("dense", clips=10, crops=3).views == 30
    assert EvalProtocol("twice", clips=2, crops=3).describe(224, 256) == \
        "2x3 twice, 256px crops of short side 256"
    assert EvalProtocol("tempo", tempo_stride=4).describe(224, 256) == \
        "1x1 tempo tau=4, 224px crops of short side 256"


def test_sampler_and_transform_give_every_view_of_a_video():
    protocol = EvalProtocol("uniform", clips=2, crops=3)
    indices = protocol.sampler(4)(80)  # (N clips, T)
    assert indices.shape == (2, 4)
    clips = torch.randint(0, 255, (2, 4, 3, 40, 60), dtype=torch.uint8)
    views = protocol.transform(crop_size=32, scale_size=32)(clips)
    assert views.shape == (6, 4, 3, 32, 32)  # (clips x crops, T, C, h, w), 3 crops of 32


@pytest.mark.parametrize("bad", [{"sampling": "centre", "clips": 2}, {"sampling": "twice"},
                                 {"sampling": "tempo", "tempo_stride": 0}, {"clips": 0}])
def test_settings_that_make_no_sense_are_refused(bad):
    with pytest.raises(ValueError):
        EvalProtocol(**bad)
