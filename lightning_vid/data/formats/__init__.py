"""Readers for the published annotation formats of the benchmarks, each -> ``VideoRecord`` s.

One module per dataset family; each reader checks its label map and names the file and line
of anything malformed. The generic ``path,label`` CSV stays in
:mod:`lightning_vid.data.annotations`.
"""

from lightning_vid.data.formats.hmdb51 import (HMDB51_TEMPLATE, hmdb51_class_names,
                                               read_hmdb51_split)
from lightning_vid.data.formats.kinetics import (KINETICS_TEMPLATE, kinetics_class_names,
                                                 read_kinetics_csv, read_kinetics_rows)
from lightning_vid.data.formats.ssv2 import (SSV2_TEMPLATE, read_ssv2_labels, read_ssv2_list,
                                             template_class)
from lightning_vid.data.formats.tsm import read_tsm_list
from lightning_vid.data.formats.ucf101 import (UCF101_TEMPLATE, read_ucf101_classes,
                                               read_ucf101_list)

__all__ = [
    "HMDB51_TEMPLATE", "KINETICS_TEMPLATE", "SSV2_TEMPLATE", "UCF101_TEMPLATE",
    "hmdb51_class_names", "kinetics_class_names", "read_hmdb51_split", "read_kinetics_csv",
    "read_kinetics_rows", "read_ssv2_labels", "read_ssv2_list", "read_tsm_list",
    "read_ucf101_classes", "read_ucf101_list", "template_class",
]
