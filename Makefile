# Two commands matter: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: run network test lint format install install-dev e2e diagram bench mutate clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# PORT=8001 make run serves on another port; REDIS_URL=redis://127.0.0.1:6379/3 picks the
# Redis database (README, "Quick start").
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runall

# Two Airlocks on this machine exchanging alerts and receipts (docs/NETWORK.md).
network: install
	$(PY) manage.py network_demo

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest

e2e: install-dev
	$(BIN)/pytest -m e2e

# The state diagram, drawn from the code. graph_transitions walks sets, so a fixed hash seed
# keeps the dot file's line order (and the committed diff) stable. Needs Graphviz's `dot`.
diagram: install-dev
	PYTHONHASHSEED=0 $(PY) manage.py graph_transitions devices.Application > docs/state-diagram.dot
	dot -Tsvg docs/state-diagram.dot -o docs/state-diagram.svg
	cp docs/state-diagram.svg static/docs/state-diagram.svg

# Benchmarks, never part of `make test` or CI (about 8 minutes, plus the 1M seed): 100k applications on
# PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/airlock_bench), then
# server time per page, HTTP throughput under gunicorn with wrk, the checkpoint sweep over
# 100k cases in testing, evidence upload/download on local disk and on an S3 API (moto's
# server), and the queue on one web node and two (BENCH_REDIS_URL, default
# redis://127.0.0.1:6379/0, the cache they share). Results go to bench/results/;
# bench/README.md says more.
# The queue at 1M applications (BENCH_1M_DATABASE_URL; seeding it takes 20-30 minutes the
# first time) is timed for the pages the "flat with size" target compares.
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/0
BENCH_1M_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/airlock_bench_1m
BENCH_1M_PAGES := "queue" "queue, nothing cached" "queue, ten reviewers, a change every 100 ms" \
	"queue, ten reviewers, nothing cached" "admin changelist"
bench: install-dev
	$(PY) bench/seed.py
	$(PY) bench/server_time.py
	$(PY) bench/http_load.py
	BENCH_DATABASE_URL=$(BENCH_1M_DATABASE_URL) $(PY) bench/seed.py --applications 1000000
	BENCH_DATABASE_URL=$(BENCH_1M_DATABASE_URL) $(PY) bench/server_time.py --name server_time_1m \
		--repeat 100 --only $(BENCH_1M_PAGES)
	$(PY) bench/checkpoint_sweep.py
	$(PY) bench/evidence_storage.py
	BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/two_nodes.py
	$(PY) bench/report.py

# Mutation testing of the rule modules with mutmut (configured in pyproject.toml), never part of
# `make test` or CI (docs/TESTING.md). One run over every module: mutmut records once which tests
# reach each function, then runs each mutant against those tests only. It keeps its results in
# mutants/, so a second `make mutate` tests only mutants not judged yet (new or changed code);
# MUTATE_MODULES="reviews.services devices.selectors" re-tests those modules whatever was
# recorded. Each child process has its own SQLite test database (tests/conftest.py), so
# MUTATE_CHILDREN can match the cores you may use; niced, as the machine may be shared.
MUTATE_MODULES ?=
MUTATE_CHILDREN ?= 2
MUTATE_NICE ?= 10
mutate: install-dev
	MUTATE_TEST_DB=var/mutation-tests.sqlite3 nice -n $(MUTATE_NICE) $(BIN)/mutmut run \
		--max-children $(MUTATE_CHILDREN) $(foreach module,$(MUTATE_MODULES),"$(module).*")
	$(BIN)/mutmut results --all true | $(PY) tests/mutation_score.py

clean:
	rm -rf $(VENV) var mutants
