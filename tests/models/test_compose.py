"""Blocks compose: a config names each block by its own class and arguments, the CLI checks
them through the block's signature, and any list of blocks builds one net."""

import contextlib
import io
from pathlib import Path

import pytest
import torch

from lightning_vid.blocks.tam import TemporalAdaptiveModule
from lightning_vid.blocks.tcm import TemporalCorrelation
from lightning_vid.blocks.tsm import TemporalShift
from lightning_vid.models import build_model

CONFIG = Path(__file__).parent / "configs" / "tsm_tam_r18_4x1_synthetic.yaml"


def test_the_shift_and_tam_in_one_net_train_a_step_from_the_cli(synthetic_data, tmp_path,
                                                                monkeypatch):
    from lightning_vid.cli import cli_main

    monkeypatch.chdir(tmp_path)
    cli = cli_main(["fit", "--config", str(CONFIG), "--data.root", synthetic_data,
                    "--data.batch_size=2", "--data.num_workers=0", "--data.crop_size=32",
                    "--data.scale_size=32", "--trainer.max_epochs=1",
                    "--trainer.limit_train_batches=1", "--trainer.limit_val_batches=1",
                    "--trainer.enable_progress_bar=false", "--trainer.logger=false"])
    assert cli.trainer.state.finished and cli.trainer.global_step >= 1
    net = cli.model.model
    shifts = [n for n, m in net.named_modules() if isinstance(m, TemporalShift)]
    tams = [n for n, m in net.named_modules() if isinstance(m, TemporalAdaptiveModule)]
    assert shifts == [f"trunk.layer{s}.{i}.conv1.temporal" for s in (1, 2, 3, 4) for i in (0, 1)]
    assert tams == [f"trunk.layer{s}.{i}.act1.temporal" for s in (3, 4) for i in (0, 1)]
    assert net(torch.randn(1, 4, 3, 32, 32)).shape == (1, cli.datamodule.num_classes)


@pytest.mark.parametrize("typo,named", [("kernel_size: 3", "kernel_sise"),
                                        ("variant: tanet", "tanet_x")])
def test_a_typo_in_a_blocks_argument_is_rejected_before_anything_runs(typo, named, tmp_path,
                                                                      monkeypatch):
    from lightning_vid.cli import cli_main

    bad = CONFIG.read_text().replace(typo, typo.replace("kernel_size", "kernel_sise").replace(
        "tanet}", "tanet_x}").replace("variant: tanet", "variant: tanet_x"))
    (CONFIG.parent / f"_typo_{named}.yaml").write_text(bad)
    monkeypatch.chdir(tmp_path)
    try:
        with pytest.raises(SystemExit) as done, contextlib.redirect_stderr(io.StringIO()) as err:
            cli_main(["fit", "--config", str(CONFIG.parent / f"_typo_{named}.yaml")])
    finally:
        (CONFIG.parent / f"_typo_{named}.yaml").unlink()
    assert done.value.code == 2 and named in err.getvalue()
    assert not (tmp_path / "runs").exists()


def test_tcm_is_tsms_shift_plus_its_block_from_the_same_classes():
    """The ``tcm`` preset is two entries: the shift of ``blocks/tsm.py`` in every block and the
    TCM of ``blocks/tcm.py`` after res3; equal weights give equal logits to the same net
    built from those classes by hand."""
    from lightning_vid.models import Insert, VideoRecognizer
    from lightning_vid.trunk import every_block

    torch.manual_seed(0)
    preset = build_model("tcm", num_classes=3, num_segments=4, backbone="resnet18",
                         input_size=32).eval()
    by_hand = VideoRecognizer(3, 4, "resnet18", input_size=32, head_init="xavier_uniform",
                              blocks=[Insert(TemporalShift, select=every_block),
                                      TemporalCorrelation]).eval()
    by_hand.load_state_dict(preset.state_dict())
    x = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(by_hand(x), preset(x), rtol=0, atol=0)
    assert sum(isinstance(m, TemporalShift) for m in preset.modules()) == 8
