# Two commands on a fresh machine with only Python:  make run  |  make test
# `make run` serves the app with the queue sweep (escalate overdue cases, widen long waits, take back
# unaccepted assignments, dispatch waiting cases) and a trickle of demo cases beside it, all stopped by
# one Ctrl-C (manage.py run_floor). In production the sweep is its own long-running process
# (`make worker`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
SWEEP_SECONDS ?= 30
TRICKLE_SECONDS ?= 20
PYTEST_ARGS ?=
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/switchboard_bench
BENCH_AGENTS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/switchboard_bench_agents
BENCH_VOICE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sb_voice_bench
BENCH_MOVE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/switchboard_bench_move
BENCH_IMPORT_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/switchboard_bench_import
BENCH_SCORING_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/switchboard_bench_scoring
BENCH_LEADS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/switchboard_bench_leads

.PHONY: run worker test install lint format bench fuzz clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_supervisor
	$(PY) manage.py generate_history --days 7 --per-day 25 --seed 42 --if-empty
	$(PY) manage.py recompute_metrics
	$(PY) manage.py seed_demo_floor
	$(PY) manage.py seed_voice_demo
	@echo "Admin: http://$(HOST)/admin/   API: http://$(HOST)/api/v1/   Docs: http://$(HOST)/api/docs/"
	$(PY) manage.py run_floor $(HOST) --sweep-seconds $(SWEEP_SECONDS) --trickle-seconds $(TRICKLE_SECONDS)

# Sweep the escalation queue every SWEEP_SECONDS until interrupted (Ctrl-C).
worker: install
	$(PY) manage.py dispatch_queue --loop $(SWEEP_SECONDS)

test: install
	$(PY) -m pytest --durations=20 $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Benchmarks at the issues' scale on PostgreSQL (loads data once; later runs reuse it). The agents
# benchmark has a database of its own: its roster (bench_* skill domains, 09:00-17:00 weekday shifts)
# would otherwise become the routing benchmark's, whose cases need skills and shifts it does not have.
bench: install
	createdb -h 127.0.0.1 -U postgres switchboard_bench_agents 2>/dev/null || true
	DATABASE_URL=$(BENCH_AGENTS_DATABASE_URL) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(BENCH_AGENTS_DATABASE_URL) $(PY) manage.py bench_agents --reuse
	createdb -h 127.0.0.1 -U postgres switchboard_bench 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench_routing
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench_http
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench_metrics
	createdb -h 127.0.0.1 -U postgres $(lastword $(subst /, ,$(BENCH_VOICE_DATABASE_URL))) 2>/dev/null || true
	DATABASE_URL=$(BENCH_VOICE_DATABASE_URL) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(BENCH_VOICE_DATABASE_URL) $(PY) manage.py bench_voice
	$(PY) manage.py bench_move --to $(BENCH_MOVE_DATABASE_URL)
	createdb -h 127.0.0.1 -U postgres $(lastword $(subst /, ,$(BENCH_IMPORT_DATABASE_URL))) 2>/dev/null || true
	DATABASE_URL=$(BENCH_IMPORT_DATABASE_URL) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(BENCH_IMPORT_DATABASE_URL) $(PY) manage.py bench_import_legacy
	createdb -h 127.0.0.1 -U postgres $(lastword $(subst /, ,$(BENCH_LEADS_DATABASE_URL))) 2>/dev/null || true
	DATABASE_URL=$(BENCH_LEADS_DATABASE_URL) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(BENCH_LEADS_DATABASE_URL) $(PY) manage.py bench_leads
	createdb -h 127.0.0.1 -U postgres $(lastword $(subst /, ,$(BENCH_SCORING_DATABASE_URL))) 2>/dev/null || true
	DATABASE_URL=$(BENCH_SCORING_DATABASE_URL) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(BENCH_SCORING_DATABASE_URL) $(PY) manage.py bench_scoring

# Schema fuzzing as CI runs it (.ci/fuzz): gunicorn with production settings on a fresh PostgreSQL
# database FUZZ_DATABASE and Redis FUZZ_REDIS_URL, schemathesis on every operation of /api/schema/ with
# its default checks, FUZZ_MAX_EXAMPLES cases per operation and phase; any failure fails the target.
FUZZ_DATABASE ?= switchboard_fuzz
FUZZ_REDIS_URL ?= redis://127.0.0.1:6379/2
FUZZ_MAX_EXAMPLES ?= 30
fuzz: install
	FUZZ_DATABASE=$(FUZZ_DATABASE) FUZZ_REDIS_URL=$(FUZZ_REDIS_URL) FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) \
	  PY=$(PY) bash .ci/fuzz

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
