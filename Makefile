# The two commands of the README: `make run` (demo on SQLite) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 0.0.0.0
PORT ?= 5000

.PHONY: run test lint fmt bench serve

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

# Production-style serving: gunicorn (settings in gunicorn.conf.py) on DATABASE_URL.
serve: $(VENV)/installed-runtime
	$(FLASK) db upgrade
	BIND=$(HOST):$(PORT) $(BIN)/gunicorn wsgi:app

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/installed-runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/installed-runtime
