"""``init_from``: the weights of another run for every stage, once, unless a ckpt_path wins."""

import lightning as L
import torch
from torch.utils.data import DataLoader

from lightning_vid.callbacks import InitWeights
from lightning_vid.models import build_model
from lightning_vid.system import VideoClassifier

T = 4


def _loader():
    batch = {"clip": torch.randn(2, T, 3, 32, 32), "label": torch.tensor([0, 1]),
             "skipped": torch.zeros(2, dtype=torch.long), "index": torch.arange(2)}
    return DataLoader([batch], batch_size=None)


def _trainer():
    return L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False)


def _tsm(num_classes):
    return build_model("tsm", num_classes, num_segments=T, backbone="resnet18")


def test_init_from_applies_to_test_once_and_a_ckpt_path_wins(tmp_path):
    k400 = _tsm(7)
    torch.save(k400.state_dict(), tmp_path / "k400.pt")
    ucf = _tsm(3)
    fc_before = ucf.fc.weight.clone()
    system = VideoClassifier(ucf, init_from=str(tmp_path / "k400.pt"), init_skip=["fc"])
    assert any(isinstance(c, InitWeights) for c in system.configure_callbacks())
    trainer = _trainer()
    trainer.test(system, dataloaders=_loader(), verbose=False)  # no fit: evaluating k400
    assert torch.equal(ucf.trunk.conv1.weight, k400.trunk.conv1.weight)
    assert torch.equal(ucf.fc.weight, fc_before)  # skipped: a new classifier
    with torch.no_grad():  # as training would; a second stage keeps it
        ucf.trunk.conv1.weight.add_(1.0)
    trainer.test(system, dataloaders=_loader(), verbose=False)
    assert torch.equal(ucf.trunk.conv1.weight, k400.trunk.conv1.weight + 1.0)
    trainer.save_checkpoint(tmp_path / "trained.ckpt")

    (tmp_path / "k400.pt").unlink()  # with a ckpt_path the init file is not even read
    fresh = VideoClassifier(_tsm(3), init_from=str(tmp_path / "k400.pt"))
    _trainer().test(fresh, dataloaders=_loader(), ckpt_path=tmp_path / "trained.ckpt",
                    verbose=False)
    assert torch.equal(fresh.model.trunk.conv1.weight, ucf.trunk.conv1.weight)


def test_no_init_from_adds_no_weights_callback():
    system = VideoClassifier(_tsm(3))
    assert not any(isinstance(c, InitWeights) for c in system.configure_callbacks())
