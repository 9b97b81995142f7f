"""The callbacks inside real training: W&B media (offline) and files with other loggers."""

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from PIL import Image

from lightning_vid.callbacks import GradCAMLogger, KernelAttentionLogger
from lightning_vid.data.datamodule import VideoDataModule
from lightning_vid.models import build_model
from lightning_vid.system import VideoClassifier

T = 4


def _png_sizes(folder: Path, prefix: str = "") -> list[tuple[int, int]]:
    sizes = []
    for path in sorted(folder.glob(f"{prefix}*.png")):
        with Image.open(path) as im:
            im.verify()  # a complete, valid PNG
        with Image.open(path) as im:
            sizes.append(im.size)
    return sizes


def test_wandb_run_holds_every_figure_as_valid_images(cli_run):
    """TCM from the CLI: the W&B run folder holds the images, tables and videos as valid PNG
    and GIF files, one per clip, and the tables' images (which W&B stages as an artifact)
    inside it too, so copying the run folder and ``wandb sync`` keeps them."""
    run = cli_run["run_dir"].parent  # the offline run's folder
    media = run / "files" / "media"
    for key in ("channel", "spatial", "flow"):  # TCM: attention, confidence, displacement
        sizes = _png_sizes(media / "images" / "interpret", f"{key}_")
        assert len(sizes) == 2 and len(set(sizes)) == 1, key  # a figure per clip, one layout
    assert len(_png_sizes(media / "images" / "gradcam")) == 2
    gifs = sorted((media / "videos" / "gradcam").glob("*.gif"))
    assert len(gifs) == 2
    with Image.open(gifs[0]) as gif:
        assert gif.n_frames == T and gif.size[0] == 2 * gif.size[1]  # frame | CAM
    [table] = (media / "table" / "interpret").glob("*.table.json")
    content = json.loads(table.read_text())
    assert content["columns"] == ["video", "label", "pred", "confidence", "channel", "spatial",
                                  "flow"]
    assert len(content["data"]) == 2 and content["data"][0][1] in cli_run["cli"].datamodule.classes
    staged = [p for p in (run / "staging").rglob("*") if p.is_file()
              and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"]
    assert len(staged) >= 2 * 3 + 2  # every table image: 3 per clip (interpret), 1 (gradcam)


class Spy(L.Callback):
    """Records the model's state in the validation-epoch-end hook (before or after the
    loggers, by its place in the callback list)."""

    def __init__(self, plant_grads: bool = False):
        self.seen, self.plant_grads = [], plant_grads

    def on_validation_epoch_end(self, trainer, pl_module):
        model = pl_module.model
        if self.plant_grads:  # as if validation came in the middle of gradient accumulation
            for p in model.parameters():
                p.grad = torch.full_like(p, 0.5)
        self.seen.append({
            "training": model.training,
            "inference": torch.is_inference_mode_enabled(),
            "grad_enabled": torch.is_grad_enabled(),
            "hooks": sum(len(m._forward_hooks) for m in model.modules()),
            "recording": any(getattr(m, "record", False) for m in model.modules()),
            "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            "requires_grad": [p.requires_grad for p in model.parameters()],
        })


def test_other_loggers_get_png_files_and_the_model_is_left_as_found(synthetic_data, tmp_path):
    """TAM with a CSV logger: PNGs, GIFs and a CSV table under log_dir/media. In validation
    during fit (no_grad) and in ``validate`` (inference mode) the loggers leave the model in
    eval mode with no hooks, nothing recording, gradients and requires_grad untouched."""
    dm = VideoDataModule(synthetic_data, num_segments=T, crop_size=32, scale_size=32, batch_size=2,
                         num_workers=0)
    system = VideoClassifier(build_model("tam", 8, num_segments=T, backbone="resnet18"))
    loggers = [KernelAttentionLogger(num_clips=2, style="hist"),
               GradCAMLogger(indices=[1, 3], target="label", log_videos=True)]
    before, after = Spy(plant_grads=True), Spy()
    trainer = L.Trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=1,
                        logger=CSVLogger(tmp_path), callbacks=[before, *loggers, after],
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=1)
    trainer.fit(system, dm)
    media = Path(trainer.logger.log_dir) / "media"
    assert len(_png_sizes(media / "interpret" / "kernels")) == 1
    # drawn at the step the validation metrics of that epoch are logged at
    with open(Path(trainer.logger.log_dir) / "metrics.csv") as f:
        val_steps = {r["step"] for r in csv.DictReader(f) if r.get("val/acc1")}
    drawn = {p.name.split("-")[1] for p in (media / "interpret" / "kernels").glob("*.png")}
    assert {f"s{int(step):06d}" for step in val_steps} == drawn
    assert len(_png_sizes(media / "interpret" / "channel")) == 2  # TAM's V, one per clip
    assert len(list((media / "gradcam" / "video").glob("*.gif"))) == 2
    with open(next((media / "gradcam" / "clips").glob("*.csv"))) as f:
        rows = list(csv.DictReader(f))
    assert [r["video"] for r in rows] == ["00001_move_right", "00003_move_down"]
    assert all(r["explained"] == r["label"] for r in rows)  # target="label"
    assert all((media / "gradcam" / "clips" / r["gradcam"]).is_file() for r in rows)
    trainer.validate(system, dm, verbose=False)
    assert len(after.seen) == 3  # sanity check, fit's validation, validate
    assert [s["inference"] for s in before.seen] == [False, False, True]
    assert not any(s["grad_enabled"] for s in before.seen)
    for found, state in zip(before.seen, after.seen):
        assert not found["training"] and not state["training"] and not state["recording"]
        assert state["hooks"] == found["hooks"] == 0
        assert state["requires_grad"] == found["requires_grad"]
        assert all((a is None and b is None) or torch.equal(a, b)
                   for a, b in zip(state["grads"], found["grads"]))
        assert all(g is not None for g in state["grads"])


def test_only_rank_zero_draws_after_every_nth_epoch_and_never_in_the_sanity_check():
    drawn = []
    logger = KernelAttentionLogger(every_n_epochs=2)
    logger.draw = lambda trainer, *args: drawn.append(trainer.current_epoch)
    logger.fixed = object()
    for rank_zero, sanity, epoch in ((False, False, 1), (True, True, 1), (True, False, 0),
                                     (True, False, 1), (True, False, 2), (True, False, 3)):
        trainer = SimpleNamespace(is_global_zero=rank_zero, sanity_checking=sanity,
                                  current_epoch=epoch)
        logger.on_validation_epoch_end(trainer, SimpleNamespace(model=None))
    assert drawn == [1, 3]


def test_bad_target_layer_fails_before_training(synthetic_data):
    system = VideoClassifier(build_model("tsm", 8, num_segments=T, backbone="resnet18"))
    callback = GradCAMLogger(target_layer="trunk.layer5")
    with pytest.raises(ValueError, match="trunk.layer5"):
        callback.setup(SimpleNamespace(is_global_zero=True), system, "fit")


def test_the_kernel_logger_says_a_tsm_has_nothing_to_draw():
    logger = KernelAttentionLogger()
    system = VideoClassifier(build_model("tsm", 8, num_segments=T, backbone="resnet18"))
    trainer = SimpleNamespace(is_global_zero=True, sanity_checking=False, current_epoch=0)
    with pytest.warns(UserWarning, match="TSM has no temporal block that records"):
        logger.setup(trainer, system, "fit")
    logger.draw = lambda *args: pytest.fail("a TSM has nothing to draw")
    logger.on_validation_epoch_end(trainer, system)


def test_one_config_piece_switches_both_figure_loggers_on(synthetic_data, capsys):
    import yaml

    from lightning_vid.cli import cli_main

    configs = Path(__file__).resolve().parents[2] / "lightning_vid" / "configs"
    with pytest.raises(SystemExit) as done:
        cli_main(["fit", "--config", str(configs / "tam_r18_4x1_synthetic.yaml"),
                  "--config", str(configs / "callbacks" / "figures.yaml"),
                  "--data.root", synthetic_data, "--print_config"])
    assert done.value.code in (0, None)
    callbacks = yaml.safe_load(capsys.readouterr().out)["trainer"]["callbacks"]
    paths = [c["class_path"] for c in callbacks]
    assert paths[-2:] == ["lightning_vid.callbacks.KernelAttentionLogger",
                          "lightning_vid.callbacks.GradCAMLogger"]
    assert "lightning.pytorch.callbacks.ModelCheckpoint" in paths  # appended, nothing replaced
