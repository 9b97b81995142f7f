"""Something-Something V2 annotations, as published with the dataset.

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
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from lightning_vid.data.annotations import PathLike, VideoRecord

SSV2_TEMPLATE = "{id}.webm"


def _load(path: PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SSv2 annotation file not found: {path}")
    try:
        return json.loads(path.read_text())
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
                                   label))
    return records
