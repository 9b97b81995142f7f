# The README's commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PINS   ?= requirements/pins.txt
DATA   ?= data/synthetic
TEST_WORKERS ?= 2
export WANDB_MODE ?= offline
export WANDB_SILENT ?= true
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: setup demo test bench figures clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml $(PINS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -r $(PINS) 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/pip install -q -c $(PINS) -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import lightning_vid, torch, torchvision, av, timm, lightning"
	touch $(STAMP)

demo: setup  ## generate the synthetic benchmark, train and test TSN and TSM side by side (one process and thread each, 7 epochs of batch 8), print the tables, draw runs/demo.png
	$(BIN)/python scripts/demo.py --data $(DATA) -- --data.init_args.batch_size 8 --trainer.max_epochs 7 --model.lr_scheduler.init_args.T_max 7

test: setup  ## the test suite in TEST_WORKERS processes (2: the CI machine's cores; 0: in this one)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: setup  ## one after another (--jobs 1: each train time measured alone), every registered architecture (list_models()) on the synthetic benchmark, side by side, and TSN on TEA's Res2Net-50 trunk: runs/zoo.md, runs/zoo.png
	$(BIN)/python scripts/demo.py --data $(DATA) --arch all --jobs 1 --out runs/bench.md
	$(BIN)/python scripts/zoo.py --results runs/bench.md --out runs/zoo.md --plot runs/zoo.png

figures: setup  ## parameters and GMACs beside the papers' figures
	$(BIN)/python scripts/model_figures.py

clean:
	rm -rf runs $(DATA)
