# The two commands of the README: `make run` (demo on SQLite) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 0.0.0.0
PORT ?= 5000

.PHONY: run test lint fmt bench serve lock fuzz

# The demo draws its own secrets into instance/ (SIPAS_DEMO=1); production must set them.
run: export SIPAS_DEMO = 1
run: $(VENV)/installed-runtime
	$(FLASK) db upgrade
	$(FLASK) seed-demo --base-url http://localhost:$(PORT)
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(VENV)/installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/installed-dev
	$(BIN)/python -m bench

# Production: gunicorn (gunicorn.conf.py) on loopback only, behind nginx
# (deploy/nginx-sipas.conf), which holds slow clients so that they never tie up a thread.
SERVE_BIND ?= 127.0.0.1:8000
serve: $(VENV)/installed-runtime
	$(FLASK) db upgrade
	BIND=$(SERVE_BIND) $(BIN)/gunicorn wsgi:app

# Every package, direct or transitive, is pinned with its hashes: pip refuses anything else.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --require-hashes --only-binary :all:

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/installed-runtime: requirements.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(VENV)/installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@ $(VENV)/installed-runtime

# Re-pin after editing requirements.in or requirements-dev.in (pip-tools in a venv of its own).
LOCK_VENV := .venv-lock
LOCK := $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || \
	  ($(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet pip-tools==7.6.2)
	$(LOCK) -o requirements.txt requirements.in
	$(LOCK) -o requirements-dev.txt requirements-dev.in

# The fuzz suite with many more examples than `make test` gives it.
fuzz: $(VENV)/installed-dev
	SIPAS_FUZZ_EXAMPLES=$${SIPAS_FUZZ_EXAMPLES:-400} $(BIN)/python -m pytest tests/test_fuzz.py
