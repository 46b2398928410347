# dyadwatch — `make run` (the pipeline on the offline demo) and `make test`.
# Both create .venv when absent and install pinned versions (constraints.txt).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt

export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export DYADWATCH_HOME ?= $(CURDIR)/data

.PHONY: run test lint format install install-dev clean eval train-tagger bench bench-tagger report eval-extract \
	bench-views

# pip is pinned too: the pip that ships with Python 3.11 (23.2) crashes resolving the
# duplicated lxml[html_clean] extra that trafilatura's and readability's trees both ask for.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q pip==26.3

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	@echo "Installing dyadwatch and its pinned dependencies into $(VENV) ..."
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: $(VENV)/.installed
	$(BIN)/dyadwatch run

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

# tagger scores on the labelled dev set (seeds/devset): table + build/eval/tagger.json;
# fails when a score falls below its floor in tests/eval/tagger_baseline.json
eval: $(VENV)/.installed
	$(BIN)/python -m extractors.eval_tagger

# retrain the tagger's learned layer (seeds/tagger_model.json) on the dev set's tune items;
# after editing the watch's cues or the dev set. `make train-tagger FOLDS=5` prints
# cross-validated scores of the layer against the rules alone instead
train-tagger: $(VENV)/.installed
	$(BIN)/python -m extractors.train_tagger $(if $(FOLDS),--folds $(FOLDS))

# the pipeline's speed and memory beside its ceilings on N generated news pages served on
# loopback (N=2000 by default; `make bench N=20000`): stage rates, end to end, bare
# trafilatura, bare DuckDB insert, a naive pipeline, a no-change run, Airflow's overhead;
# table + build/bench/results.json; then the tagger's speed (bench-tagger)
N ?= 2000
bench: $(VENV)/.installed
	$(BIN)/python -m tests.bench.bench_pipeline --n $(N)
	$(BIN)/python -m tests.bench.bench_tagger

# the tagger alone: articles of 5,000 characters tagged per second on one core (target
# 1,000), on real news and on a dense corpus, with and without the learned layer
bench-tagger: $(VENV)/.installed
	$(BIN)/python -m tests.bench.bench_tagger

# every analyst view on a generated 1M-article / 10M-signal warehouse: median per view,
# target < 1 s each; writes build/bench/views.json
bench-views: $(VENV)/.installed
	$(BIN)/python -m tests.bench.bench_views

# data/report.html: trends, cooperation-conflict index, spikes, places, latest stories
report: $(VENV)/.installed
	$(BIN)/dyadwatch report

# extraction on the article-extraction benchmark (../shared/corpus/extraction): ours vs
# bare trafilatura, per-page table + predictions + build/eval/extraction.json; fails when
# a score falls below its floor in tests/eval/extraction_baseline.json
eval-extract: $(VENV)/.installed
	$(BIN)/python -m extractors.evaluate

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf data build .airflow
