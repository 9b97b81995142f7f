"""Something-Something V2: its JSON annotations and :class:`SomethingSomethingV2DataModule`.

- the labels file (``labels.json``, also shipped as ``something-something-v2-labels.json``)
  maps each of the 174 templates to its index as a string::

      {"Approaching something with your camera": "0", ...}

- the train and validation lists are JSON arrays of::

      {"id": "78687", "label": "holding potato next to vicks vaporub bottle",
       "template": "Holding [something] next to [something]",
       "placeholders": ["potato", "vicks vaporub bottle"]}

  The class is the template without its square brackets (as the TSM tool
  ``gen_label_sthv2.py`` does); the test list carries only ``{"id": ...}`` (label -1).
- videos are ``<id>.webm`` (VP9, whose headers carry no frame count: frames are counted by
  demuxing), or frame folders ``<id>/000001.jpg`` from TSM's ``vid2img_sthv2.py``.

Ready configs: ``lightning_vid/configs/data/sthv2*.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

from lightning_vid.data.annotations import PathLike, VideoRecord, read_text
from lightning_vid.data.datamodule import ClipDataModule

SSV2_TEMPLATE = "{id}.webm"


def _load(path: PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SSv2 annotation file not found: {path}")
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from None


def read_ssv2_labels(path: PathLike) -> list[str]:
    """The class names in index order; the indices must be exactly ``0 .. K-1``."""
    labels = _load(path)
    if not isinstance(labels, dict) or not labels:
        raise ValueError(f"{path}: expected a JSON object template -> index")
    try:
        by_index = {int(v): k for k, v in labels.items()}
    except (TypeError, ValueError):
        raise ValueError(f"{path}: indices must be integers (as strings)") from None
    if sorted(by_index) != list(range(len(labels))):
        raise ValueError(f"{path}: indices are not 0..{len(labels) - 1} without repeats")
    return [by_index[i] for i in range(len(labels))]


def template_class(template: str) -> str:
    """``"Putting [something] into [something]"`` -> ``"Putting something into something"``."""
    return template.replace("[", "").replace("]", "")


def read_ssv2_list(path: PathLike, class_names: Sequence[str], video_root: PathLike,
                   template: str = SSV2_TEMPLATE) -> list[VideoRecord]:
    """Records of a train/validation/test list; ``template`` formats ``{id}`` into the path.

    Raises:
        ValueError: naming the file and the item of an entry without an id or whose template
            is not in the labels file.
    """
    items = _load(path)
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a JSON array of videos")
    index = {name: i for i, name in enumerate(class_names)}
    root = Path(video_root)
    records = []
    for number, item in enumerate(items):
        if not isinstance(item, dict) or not str(item.get("id", "")).strip():
            raise ValueError(f"{path}: item {number}: no video id in {item!r}")
        label = -1
        if "template" in item:
            name = template_class(item["template"])
            if name not in index:
                raise ValueError(f"{path}: item {number} (id {item['id']}): template "
                                 f"{item['template']!r} is not in the labels file")
            label = index[name]
        records.append(VideoRecord(str(root / template.format(id=str(item["id"]).strip())),
                                   label, source=f"{path} item {number}"))
    return records


class SomethingSomethingV2DataModule(ClipDataModule):
    """Something-Something V2 from its JSON label files.

    Args:
        root: the dataset folder.
        labels: the labels file (template -> index) under ``root``.
        train_list, val_list, test_list, predict_list: JSON lists under ``root``
            (``predict_list`` may also name one video).
        videos: the folder of ``<id>.webm`` (or of frame folders) under ``root``.
        path_template: ``{id}.webm``; ``{id}`` for frame folders (TSM's tool writes
            ``000001.jpg``: set ``frame_template: "{:06d}.jpg"``).
        **kwargs: :class:`~lightning_vid.data.datamodule.ClipDataModule` options. The papers
            either turn the flip off (``flip: false``; TSM, TEA) or swap the left/right labels
            (``directional: swap_label``; TAM, TDN).
    """

    def __init__(self, root: str, labels: str = "labels/labels.json",
                 train_list: Optional[str] = "labels/train.json",
                 val_list: Optional[str] = "labels/validation.json",
                 test_list: Optional[str] = "labels/validation.json",
                 predict_list: Optional[str] = None,
                 videos: str = "20bn-something-something-v2",
                 path_template: str = SSV2_TEMPLATE, **kwargs: Any) -> None:
        super().__init__(root, train_list=train_list, val_list=val_list, test_list=test_list,
                         predict_list=predict_list, **kwargs)

    def read_class_names(self) -> list[str]:
        return read_ssv2_labels(self.root / self.hparams.labels)

    def read_list(self, name: str) -> list[VideoRecord]:
        return read_ssv2_list(self.root / name, self.classes, self.root / self.hparams.videos,
                              self.hparams.path_template)
