"""The benchmarks of the papers, one file per dataset: its published annotation format (the
reader, which checks the label map and names the file and line of anything malformed) and its
data module (a :class:`~lightning_vid.data.datamodule.ClipDataModule` that reads that format).

==========================  =========================================  =====================
file                        data module                                lists
==========================  =========================================  =====================
:mod:`.kinetics`            :class:`Kinetics400DataModule`             DeepMind's CSVs
:mod:`.ssv2`                :class:`SomethingSomethingV2DataModule`    the JSON label files
:mod:`.hmdb51`              :class:`HMDB51DataModule`                  the 3 official splits
:mod:`.ucf101`              :class:`UCF101DataModule`                  the 3 official splits
:mod:`.frame_lists`         :class:`FrameListDataModule`               TSN/TSM frame lists
==========================  =========================================  =====================

Naming a folder instead of a file in a ``path_template`` reads frame folders (the data
module's ``frame_template`` gives their file names) with no other change. The generic
``path,label`` CSV is :class:`lightning_vid.data.datamodule.VideoDataModule`. Ready configs:
``lightning_vid/configs/data/*.yaml``.
"""

from lightning_vid.data.datasets.frame_lists import FrameListDataModule
from lightning_vid.data.datasets.hmdb51 import HMDB51DataModule
from lightning_vid.data.datasets.kinetics import Kinetics400DataModule
from lightning_vid.data.datasets.ssv2 import SomethingSomethingV2DataModule
from lightning_vid.data.datasets.ucf101 import UCF101DataModule

__all__ = ["FrameListDataModule", "HMDB51DataModule", "Kinetics400DataModule",
           "SomethingSomethingV2DataModule", "UCF101DataModule"]
