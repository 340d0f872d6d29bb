# tuneyard: set-up, tests and reproducible sweeps. Every target installs what it needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The extras installed: `cpu` is TensorFlow's CPU wheel; `make clean install EXTRAS=dev,gpu,ray` on
# a Linux GPU machine installs TensorFlow with CUDA instead (README: GPUs). Never cpu and gpu
# together. `ray` is Ray, for --executor ray (its tests run in the suite).
EXTRAS ?= dev,cpu,ray
# Folder with keras' dataset files (mnist.npz, cifar-10-batches-py/) for offline machines.
DATA_DIR ?= $(TUNEYARD_DATA_DIR)
DATA_FLAG := $(if $(DATA_DIR),--data-dir $(DATA_DIR),)

.PHONY: install test test-fast wheel-check lint format bench sweep-mnist sweep-cifar sweep-cifar-resnet sweep-sine sweep-sine-window sweeps race-sine race-mnist example clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

# The whole suite, every test (CI runs it): TUNEYARD_FULL_SUITE makes the run fail if any test
# is deselected (tests/conftest.py). Two pytest-xdist workers, one per core of CI's machine
# (TEST_WORKERS=N for another); --dist loadfile keeps each file's tests in one worker, so a
# study a module makes once is made once. Tests share nothing else: each has its own results
# folder and PostgreSQL database, and a command run in-process restores the folder and
# environment it changed (tests/inproc.py). --no-loadscope-reorder keeps the collection
# order, which puts the longest files first (tests/conftest.py LONGEST_FIRST).
TEST_WORKERS ?= 2
test: install
	TUNEYARD_FULL_SUITE=1 $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The inner loop: every test not marked slow (no TensorFlow training, none over about a second),
# in about a minute on 2 cores (two workers, as `make test`). `make test` still runs them all.
test-fast: install
	$(BIN)/pytest -q -m "not slow" -n $(TEST_WORKERS) --dist loadfile

# Build the wheel, install it in a clean Python 3.13 venv, list the spaces and run a sine trial
# from another folder (WHEEL_PYTHON=/path/to/python for another interpreter).
wheel-check:
	bash .ci/wheel-check

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install
	$(BIN)/python bench/overhead.py $(DATA_FLAG)

# Reproducible sweeps with fixed seeds (re-running one resumes it).
sweep-sine: install
	$(BIN)/tune run --space sine_lstm --backend tpe --trials 20 --seed 0

# The sine window searched too (20..100) on a 20,000-point series with feed-forward models:
# within 3% of the noise floor in 2-4 minutes; the diagnosis names trials at their window's
# linear-filter bound.
sweep-sine-window: install
	$(BIN)/tune run --space sine_window --backend tpe --trials 16 --seed 0 --prune median

# MNIST: one Hyperband iteration (max_epochs 20, factor 3: 30 trials, about 226 epochs): weak
# configurations stop after 3 or 7 epochs. About 60 CPU minutes, ~30 minutes on 2 idle cores
# (bench/RESULTS.md).
MNIST_SWEEP_FLAGS ?=
sweep-mnist: install
	$(BIN)/tune run --space mnist_mlp --backend hyperband --max-epochs 20 --factor 3 --trials 30 --seed 0 \
		--timeout 30m $(DATA_FLAG) $(MNIST_SWEEP_FLAGS)

sweep-cifar: install
	$(BIN)/tune run --space cifar_cnn --backend tpe --trials 20 --seed 0 --timeout 2h $(DATA_FLAG)

# CIFAR-10, a small ResNet with batch norm and augmentation: one Hyperband iteration
# (max_epochs 16, factor 4: 32 trials) under a 2-hour budget; most configurations stop after
# 1 or 4 epochs (bench/RESULTS.md has what it reached on this machine).
CIFAR_SWEEP_FLAGS ?=
sweep-cifar-resnet: install
	$(BIN)/tune run --space cifar_resnet --backend hyperband --max-epochs 16 --factor 4 --trials 32 --seed 0 \
		--timeout 2h $(DATA_FLAG) $(CIFAR_SWEEP_FLAGS)

sweeps: sweep-sine sweep-mnist sweep-cifar sweep-cifar-resnet

# Equal-epoch-budget races of every backend plus the course baseline (bench/RESULTS.md);
# re-running one resumes it. MNIST falls back to ../shared/data for this machine.
RACE_BUDGET ?= 150
RACE_REPEATS ?= 2
# The sine race runs sine_tuned (60-epoch trials: 2-3 per backend and seed, ~30 minutes).
race-sine: install
	$(BIN)/tune race --space sine_tuned --budget-epochs $(RACE_BUDGET) --repeats $(RACE_REPEATS) --seed 0

race-mnist: install
	$(BIN)/tune race --space mnist_mlp --budget-epochs $(RACE_BUDGET) --repeats $(RACE_REPEATS) --seed 0 --subset 3000 --data-dir $(or $(DATA_DIR),../shared/data)

# The user-workload examples (examples/README.md), small: a digits sweep and a breast-cancer
# sweep through the CLI, each scored on its held-out test split (the latter with ROC AUC),
# then the notebook-style script using tuneyard.search. Starts over each time (--fresh).
example: install
	$(BIN)/tune run --space examples/digits/digits.yaml --backend tpe --trials 6 --epochs 5 --fresh
	$(BIN)/tune evaluate digits-tpe-s0
	$(BIN)/tune run --space examples/breast_cancer/breast_cancer.yaml --backend tpe --trials 6 --epochs 10 --fresh
	$(BIN)/tune evaluate breast_cancer-tpe-s0
	$(BIN)/python examples/notebook.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
