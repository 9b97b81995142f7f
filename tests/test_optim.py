"""Paper recipes: parameter groups, warm-up schedules, lr scaling, BN freezing, initialisation."""

import os
from pathlib import Path

import pytest
import torch
from torch import nn

from lightning_vid import optim
from lightning_vid.cli import cli_main
from lightning_vid.data.synthetic import generate
from lightning_vid.models import build_model
from lightning_vid.models.weights import canonical_key, load_weights
from lightning_vid.system import VideoClassifier

CONFIG_DIR = Path(__file__).resolve().parents[1] / "lightning_vid/configs"
CONFIG = str(CONFIG_DIR / "tsm_r18_4x1_synthetic.yaml")


class Tiny(nn.Module):
    """conv (bias) -> BN -> a hidden Linear -> the classifier ``fc``, and a raw parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.hidden = nn.Linear(4, 4)
        self.fc = nn.Linear(4, 2)
        self.temporal = nn.Parameter(torch.zeros(4, 1, 3))  # like TEA's / TDN's temporal conv


def _where(groups):
    """{group name: set of parameter ids}"""
    return {g["name"]: {id(p) for p in g["params"]} for g in groups}


def test_tsn_policy_puts_each_parameter_where_the_authors_do():
    m = Tiny()
    groups = optim.param_groups(m, "tsn", fc_lr5="classifier")
    where = _where(groups)
    assert where["weight"] == {id(m.conv.weight), id(m.hidden.weight), id(m.temporal)}
    assert where["bias"] == {id(m.conv.bias), id(m.hidden.bias)}
    assert where["norm"] == {id(m.bn.weight), id(m.bn.bias)}
    assert where["lr5_weight"] == {id(m.fc.weight)} and where["lr10_bias"] == {id(m.fc.bias)}
    mults = {g["name"]: (g["lr_mult"], g["decay_mult"]) for g in groups}
    assert mults == {"weight": (1, 1), "bias": (2, 0), "norm": (1, 0), "lr5_weight": (5, 1),
                     "lr10_bias": (10, 0)}
    assert sum(len(g["params"]) for g in groups) == len(list(m.parameters()))


def test_fc_lr5_variants_and_other_policies():
    m = Tiny()
    linear = _where(optim.param_groups(m, "tsn", fc_lr5="all_linear"))  # TSM / TAM code
    assert linear["lr5_weight"] == {id(m.fc.weight), id(m.hidden.weight)}
    off = _where(optim.param_groups(m, "tsn", fc_lr5=None))  # fine-tuning
    assert "lr5_weight" not in off and id(m.fc.weight) in off["weight"]
    no_decay = {g["name"]: g["lr_mult"] for g in optim.param_groups(m, "no_decay")}
    assert no_decay["bias"] == 1.0
    (uniform,) = optim.param_groups(m, "uniform", fc_lr5="classifier")  # TDN: one group
    assert len(uniform["params"]) == len(list(m.parameters())) and uniform["lr_mult"] == 1.0
    with pytest.raises(ValueError, match="policy"):
        optim.param_groups(m, "tsm")


def test_tam_gate_linears_are_boosted_only_by_all_linear():
    m = build_model("tam", num_classes=3, num_segments=4, backbone="resnet18")
    gate = m.trunk.layer1[0].act1.temporal.global_branch[0].weight
    assert id(gate) in _where(optim.param_groups(m, "tsn", fc_lr5="all_linear"))["lr5_weight"]
    classifier = _where(optim.param_groups(m, "tsn", fc_lr5="classifier"))
    assert classifier["lr5_weight"] == {id(m.fc.weight)} and id(gate) in classifier["weight"]


def test_multipliers_become_lr_and_weight_decay():
    m = Tiny()
    sgd = torch.optim.SGD(optim.param_groups(m, "tsn", "classifier"), lr=0.1, weight_decay=1e-4)
    optim.apply_multipliers(sgd)
    optim.apply_multipliers(sgd)  # idempotent
    got = {g["name"]: (round(g["lr"], 6), g["weight_decay"]) for g in sgd.param_groups}
    assert got == {"weight": (0.1, 1e-4), "bias": (0.2, 0.0), "norm": (0.1, 0.0),
                   "lr5_weight": (0.5, 1e-4), "lr10_bias": (1.0, 0.0)}


def _lrs(schedule, steps):
    opt = schedule.optimizer
    out = []
    for _ in range(steps):
        out.append(round(opt.param_groups[0]["lr"], 6))
        opt.step()
        schedule.step()
    return out


def test_warmup_then_multistep_per_iteration_or_per_epoch():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    per_step = optim.WarmupSchedule(opt, milestones=[2, 3], warmup_epochs=1,
                                    warmup_start_factor=0.0)
    per_step.bind(steps_per_epoch=4)
    assert _lrs(per_step, 14) == [0, .25, .5, .75, 1, 1, 1, 1, .1, .1, .1, .1, .01, .01]
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    per_epoch = optim.WarmupSchedule(opt, milestones=[2], warmup_epochs=2,
                                     warmup_start_factor=0.5, per_iteration=False)
    per_epoch.bind(steps_per_epoch=2)
    assert _lrs(per_epoch, 6) == [0.5, 0.5, 0.75, 0.75, 0.1, 0.1]


def test_cosine_takes_max_epochs_from_bind_and_resumes_from_its_state():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    cosine = optim.WarmupSchedule(opt, decay="cosine")
    cosine.bind(steps_per_epoch=2, max_epochs=2)
    assert _lrs(cosine, 5) == [1.0, 0.853553, 0.5, 0.146447, 0.0]
    opt2 = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    resumed = optim.WarmupSchedule(opt2, decay="cosine")  # unbound, as before a resume
    resumed.load_state_dict(cosine.state_dict())
    assert resumed.steps_per_epoch == 2 and resumed.max_epochs == 2.0
    assert resumed.get_lr() == cosine.get_lr()


def test_linear_scaling_rule():
    assert optim.linear_scaling_factor(optim.global_batch_size(8, 8, 1), 64) == 1.0
    assert optim.linear_scaling_factor(optim.global_batch_size(8, 2, 2), 64) == 0.5


@pytest.mark.parametrize("mode, frozen", [("partial", 2), ("all", 3), ("none", 0)])
def test_frozen_batchnorms_keep_statistics_and_affine_parameters(mode, frozen):
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.BatchNorm2d(4),
                          nn.BatchNorm2d(4))
    model.num_classes, model.num_segments, model.frames_per_segment = 4, 1, 1
    system = VideoClassifier(model, bn_freeze=mode).train()
    bns = list(model)[1:]
    assert [bn.training for bn in bns] == [i < 3 - frozen for i in range(3)]
    assert [bn.weight.requires_grad for bn in bns] == [i < 3 - frozen for i in range(3)]
    before = [bn.running_mean.clone() for bn in bns]
    model(torch.randn(4, 3, 2, 2) + 5)
    moved = [not torch.equal(b, bn.running_mean) for b, bn in zip(before, bns)]
    assert moved == [i < 3 - frozen for i in range(3)]
    assert system.eval() is system and not any(bn.training for bn in bns)


def test_tsn_weights_initialise_trm_and_tcm_through_the_wrappers(tmp_path):
    tsn = build_model("tsn", num_classes=7, num_segments=4, backbone="resnet18")
    ckpt = {"state_dict": {f"model.{k}": v for k, v in tsn.state_dict().items()}}
    torch.save(ckpt, tmp_path / "tsn.ckpt")  # a Lightning checkpoint's layout
    for arch in ("trm", "tcm"):
        model = build_model(arch, num_classes=3, num_segments=4, backbone="resnet18",
                            input_size=32)
        report = load_weights(model, tmp_path / "tsn.ckpt", skip=("fc",))
        assert report.skipped == ["fc.bias", "fc.weight"]
        assert report.unexpected == ["fc.bias", "fc.weight"]  # nothing else left unused
        assert all(".temporal." in k for k in report.missing)  # only the new modules
        state = model.state_dict()
        for key, value in tsn.state_dict().items():
            if not key.startswith("fc."):
                target = next(k for k in state if canonical_key(k) == key)
                assert torch.equal(state[target], value), key
    assert canonical_key("trunk.layer3.0.conv1.conv.weight") == "trunk.layer3.0.conv1.weight"


def test_fine_tuning_needs_the_classifier_skipped(tmp_path):
    k400 = build_model("tsm", num_classes=7, num_segments=4, backbone="resnet18")
    torch.save(k400.state_dict(), tmp_path / "k400.pt")
    ucf = build_model("tsm", num_classes=3, num_segments=4, backbone="resnet18")
    with pytest.raises(ValueError, match="fc.weight"):
        load_weights(ucf, tmp_path / "k400.pt", skip=())
    fc_before = ucf.fc.weight.clone()
    load_weights(ucf, tmp_path / "k400.pt", skip=("fc",))
    assert torch.equal(ucf.trunk.conv1.weight, k400.trunk.conv1.weight)
    assert torch.equal(ucf.fc.weight, fc_before)


def test_channels_last_and_compile_options_reach_the_model():
    model = build_model("tsm", num_classes=3, num_segments=2, backbone="resnet18")
    system = VideoClassifier(model, channels_last=True, compile=True)
    system.setup("fit")
    assert model.trunk.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert model._compiled_call_impl is not None  # compiled in place: same state-dict keys
    assert "model.trunk.conv1.weight" in system.state_dict()


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return str(generate(tmp_path_factory.mktemp("synthetic"), num_train=8, num_val=4,
                        num_test=4, size=32, frames=16, workers=1, verbose=False))


@pytest.fixture(scope="module")
def recipe_run(tiny_data, tmp_path_factory):
    """TSN groups with fc_lr5, linear scaling over accumulation, a warm-up stepped per
    iteration, in bf16 mixed precision and channels-last, from the command line."""
    schedule = ('{"class_path": "lightning_vid.optim.WarmupSchedule", "init_args": '
                '{"milestones": [1], "warmup_epochs": 1, "warmup_start_factor": 0.5}}')
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("run"))
    try:
        return cli_main([
            "fit", "--config", CONFIG, "--data.root", tiny_data, "--data.batch_size=2",
            "--data.num_workers=0", "--data.crop_size=32", "--data.scale_size=32",
            "--trainer.max_epochs=1", "--trainer.limit_val_batches=0",
            "--trainer.accumulate_grad_batches=2", "--trainer.precision=bf16-mixed",
            "--trainer.logger=false", "--trainer.callbacks=[]",
            "--trainer.enable_checkpointing=false", "--trainer.enable_progress_bar=false",
            "--trainer.enable_model_summary=false", "--model.param_policy=tsn",
            "--model.fc_lr5=classifier", "--model.lr_reference_batch=8",
            "--model.channels_last=true", f"--model.lr_scheduler={schedule}",
        ])
    finally:
        os.chdir(cwd)


def test_cli_recipe_options_set_the_optimizer(recipe_run):
    cli = recipe_run
    optimizer = cli.trainer.optimizers[0]
    # config lr 0.05, wd 1e-4; global batch 2 x 1 device x 2 accumulated = 4 -> x 4/8
    initial = {g["name"]: (round(g["initial_lr"], 6), g["weight_decay"])
               for g in optimizer.param_groups}
    assert initial == {"weight": (0.025, 1e-4), "norm": (0.025, 0.0),  # ResNet convs: no bias
                       "lr5_weight": (0.125, 1e-4), "lr10_bias": (0.25, 0.0)}
    scheduler = cli.trainer.lr_scheduler_configs[0]
    assert scheduler.interval == "step" and scheduler.scheduler.steps_per_epoch == 2
    assert cli.trainer.global_step == 2 and scheduler.scheduler.last_epoch == 2
    # after 2 of 2 steps of the first epoch: warm-up done, the milestone at epoch 1 reached
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025 * 0.1)
    assert cli.model.model.trunk.conv1.weight.is_contiguous(memory_format=torch.channels_last)


RECIPES = sorted((CONFIG_DIR / "recipes").glob("*.yaml"))


def test_every_paper_recipe_parses_and_cites_its_source(recipe_run):
    """The recipes need the real data sets and GPUs; here they are parsed (class paths,
    types, option names) by the CLI's own parser, and their naming and lr rules checked."""
    assert len(RECIPES) >= 15
    for path in RECIPES:
        cfg = recipe_run.parser.parse_args(["fit", "--config", str(path)]).fit
        block, trunk, frames, dataset = path.stem.split("_")
        model = cfg.model
        paths = [b.init_args.block.class_path if b.class_path.endswith(".Insert") else
                 b.class_path for b in model.model.init_args.blocks]  # the blocks it names
        assert any(p.startswith(f"lightning_vid.blocks.{block}.") for p in paths) or (
            block == "tsn" and not paths), path.name
        t, length = map(int, frames.split("x"))
        assert (cfg.data.init_args.num_segments, cfg.data.init_args.frames_per_segment) == (
            t, length), path.name
        assert model.lr_scheduler["class_path"] == "lightning_vid.optim.WarmupSchedule"
        assert model.lr_reference_batch and model.param_policy in ("tsn", "uniform")
        assert any(c.init_args.get("save_on_exception") for c in cfg.trainer.callbacks), path.name
        assert "# Source: " in path.read_text(), path.name
        if model.init_from:  # fine-tuning / second stage: no ImageNet boost of the fc
            assert model.fc_lr5 is None, path.name


def test_imagenet_weights_from_a_local_file_under_the_papers_timm_tag(tmp_path):
    """``backbone: resnet50.tv_in1k`` (torchvision V1, as every official repo) with the weights
    file given as ``pretrained`` when timm's hub cannot be reached."""
    import timm

    weights = timm.create_model("resnet18").state_dict()  # stands in for the downloaded file
    torch.save(weights, tmp_path / "resnet18_tv_in1k.pth")
    model = build_model("tsm", num_classes=3, num_segments=2, backbone="resnet18.tv_in1k",
                        pretrained=str(tmp_path / "resnet18_tv_in1k.pth"))
    assert torch.equal(model.trunk.conv1.weight, weights["conv1.weight"])
    assert torch.equal(model.trunk.layer4[1].conv1.conv.weight, weights["layer4.1.conv1.weight"])
    with pytest.raises(ValueError, match="unknown backbone"):
        build_model("tsm", num_classes=3, backbone="resnet18.no_such_tag")
