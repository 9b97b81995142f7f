"""The papers' figures table (``lightning_vid/models/figures.py``): every preset's parameter
total within 0.5 % of the figure it is listed with, and the table is what
``scripts/model_figures.py`` reports."""

import importlib.util
from pathlib import Path

import pytest

from lightning_vid.models import build_model, list_models
from lightning_vid.models.complexity import count_params
from lightning_vid.models.figures import FIGURES, figures_of

ROWS = [(arch, fig) for arch, figs in FIGURES.items() for fig in figs if fig.params_m]


def test_every_table_entry_is_a_preset():
    assert set(FIGURES) <= set(list_models())


@pytest.mark.parametrize("arch,fig", ROWS, ids=[f"{a}-{f.num_classes}-{f.input_size}"
                                                 f"{'-' + str(f.kwargs) if f.kwargs else ''}"
                                                 for a, f in ROWS])
def test_parameter_totals_within_half_a_percent_of_the_papers(arch, fig):
    model = build_model(arch, num_classes=fig.num_classes, num_segments=8,
                        input_size=fig.input_size, **fig.kwargs)
    params_m = count_params(model) / 1e6
    assert abs(params_m - fig.params_m) <= 0.005 * fig.params_m, (params_m, fig.source)


def test_the_figures_script_reads_the_table():
    path = Path(__file__).resolve().parents[2] / "scripts" / "model_figures.py"
    spec = importlib.util.spec_from_file_location("model_figures", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.figures(["tcm", "tsm"]) == [("tcm", f) for f in FIGURES["tcm"]] + [
        ("tsm", f) for f in FIGURES["tsm"]]
    assert figures_of("probe")[0].params_m is None  # a preset without figures: measured only
