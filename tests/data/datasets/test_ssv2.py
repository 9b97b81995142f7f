"""Something-Something V2: the labels file, templates as classes, the left/right pairs the flip
swaps, errors naming the file and item, and the data module on the fixture layout."""

import json
from pathlib import Path

import pytest
import torch

from lightning_vid.data import count_frames
from lightning_vid.data.annotations import left_right_pairs
from lightning_vid.data.datasets.ssv2 import (SomethingSomethingV2DataModule, read_ssv2_labels,
                                              read_ssv2_list)

SSV2 = Path(__file__).resolve().parents[1] / "fixtures" / "sthv2" / "labels"
TINY = dict(num_segments=4, crop_size=32, scale_size=32, batch_size=2, num_workers=0)


def test_ssv2_labels_templates_and_the_left_right_label_map():
    classes = read_ssv2_labels(SSV2 / "labels.json")
    assert len(classes) == 174 and classes[0] == "Approaching something with your camera"
    # the pairs the TAM/TDN/mmaction2 flip swaps, derived from the names of the labels file
    assert left_right_pairs(classes) == {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
    train = read_ssv2_list(SSV2 / "train.json", classes, "/ss")
    assert [classes[r.label] for r in train[:3]] == [
        "Holding something next to something", "Spreading something onto something",
        "Pulling something from left to right"]
    assert train[0].path == "/ss/78687.webm" and train[1].source.endswith("train.json item 1")
    assert [r.label for r in read_ssv2_list(SSV2 / "test.json", classes, "/ss")] == [-1, -1]
    assert read_ssv2_list(SSV2 / "validation.json", classes, "/f", "{id}")[1].path == "/f/116154"


def test_ssv2_errors_name_the_file_and_item(tmp_path):
    classes = read_ssv2_labels(SSV2 / "labels.json")
    items = json.loads((SSV2 / "train.json").read_text())
    items[2]["template"] = "Pulling [something] sideways"
    (tmp_path / "train.json").write_text(json.dumps(items))
    with pytest.raises(ValueError, match=r"train.json: item 2 \(id 100218\).*not in the labels"):
        read_ssv2_list(tmp_path / "train.json", classes, "/ss")
    (tmp_path / "labels.json").write_text('{"a": "0", "b": "2"}')
    with pytest.raises(ValueError, match="not 0..1"):
        read_ssv2_labels(tmp_path / "labels.json")


def test_ssv2_flip_swaps_exactly_the_left_right_classes(benchmark_root):
    root = str(benchmark_root / "sthv2")
    swap = SomethingSomethingV2DataModule(root, flip=True, directional="swap_label", **TINY)
    joint = swap.dataset("fit", train=True).joint_transform
    assert joint.pairs == {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
    off = SomethingSomethingV2DataModule(root, flip=False, **TINY)
    assert off.dataset("fit", train=True).joint_transform is None
    labels = set()
    for seed in range(12):  # the "pulling left to right" clip comes back under both labels
        torch.manual_seed(seed)
        labels.add(swap.dataset("fit", train=True)[2]["label"])
    assert labels == {86, 87}


def test_ssv2_webm_headers_carry_no_frame_count_yet_frames_are_counted(benchmark_root):
    import av

    path = benchmark_root / "sthv2" / "20bn-something-something-v2" / "78687.webm"
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0  # nothing in the header
    assert count_frames(path) == 36  # counted by demuxing
