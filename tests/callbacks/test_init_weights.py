"""``init_from``: the weights of another run for every stage, once, unless a ckpt_path wins."""

import lightning as L
import pytest
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
    trained = _tsm(3)
    torch.save(trained.state_dict(), tmp_path / "trained.pt")
    model = _tsm(3)
    system = VideoClassifier(model, init_from=str(tmp_path / "trained.pt"))
    assert any(isinstance(c, InitWeights) for c in system.configure_callbacks())
    trainer = _trainer()
    trainer.test(system, dataloaders=_loader(), verbose=False)  # no fit: evaluating the file
    for key, value in trained.state_dict().items():  # all of it, the classifier included
        assert torch.equal(model.state_dict()[key], value), key
    with torch.no_grad():  # as training would; a second stage keeps it
        model.trunk.conv1.weight.add_(1.0)
    trainer.test(system, dataloaders=_loader(), verbose=False)
    assert torch.equal(model.trunk.conv1.weight, trained.trunk.conv1.weight + 1.0)
    trainer.save_checkpoint(tmp_path / "tested.ckpt")

    (tmp_path / "trained.pt").unlink()  # with a ckpt_path the init file is not even read
    fresh = VideoClassifier(_tsm(3), init_from=str(tmp_path / "trained.pt"))
    _trainer().test(fresh, dataloaders=_loader(), ckpt_path=tmp_path / "tested.ckpt",
                    verbose=False)
    assert torch.equal(fresh.model.trunk.conv1.weight, model.trunk.conv1.weight)


@pytest.mark.parametrize("stage", ["validate", "test", "predict"])
def test_evaluating_a_file_that_does_not_hold_the_model_names_the_keys(stage, tmp_path):
    """Kinetics weights (7 classes) or a TSN's (no temporal module) cannot be evaluated as this
    3-class TSM: nothing runs, and the message names what differs. In ``fit`` the same files
    initialise what matches (a new head, the trunk of a TSN)."""
    torch.save(_tsm(7).state_dict(), tmp_path / "k400.pt")
    tsn = build_model("tsn", 3, num_segments=T, backbone="resnet18")
    torch.save(tsn.state_dict(), tmp_path / "tsn.pt")
    run = getattr(_trainer(), stage)
    with pytest.raises(ValueError, match=r"k400.pt does not hold this model .*fc.bias \(7,\) vs "
                                         r"\(3,\)"):
        run(VideoClassifier(_tsm(3), init_from=str(tmp_path / "k400.pt")), _loader())
    with pytest.raises(ValueError, match=r"missing \[trunk.layer1.0.conv1.conv.weight.*left over "
                                         r"\[trunk.layer1.0.conv1.weight"):
        run(VideoClassifier(_tsm(3), init_from=str(tmp_path / "tsn.pt")), _loader())
    if stage == "validate":
        model, fit = _tsm(3), L.Trainer(max_epochs=1, limit_train_batches=0, logger=False,
                                        enable_checkpointing=False, enable_progress_bar=False,
                                        enable_model_summary=False)
        fit.fit(VideoClassifier(model, init_from=str(tmp_path / "tsn.pt")), _loader())
        assert torch.equal(model.trunk.layer1[0].conv1.conv.weight,
                           tsn.trunk.layer1[0].conv1.weight)


def test_no_init_from_adds_no_weights_callback():
    system = VideoClassifier(_tsm(3))
    assert not any(isinstance(c, InitWeights) for c in system.configure_callbacks())
