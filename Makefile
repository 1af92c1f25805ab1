# Two commands for a fresh machine: `make run` (sample build end to end) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint clean labelstudio-env

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Debian's chromium + chromedriver for the review app's browser test (we run as root in CI)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)
	# torch first: the CPU wheel on local disk, so nothing pulls a CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev,labelstudio]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/mmrare build
	$(BIN)/mmrare status
	$(BIN)/mmrare report

test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

# Label Studio in its own venv (its pins differ from mmrare's), for its integration test and docs/labelstudio.md
labelstudio-env:
	bash scripts/labelstudio-env.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

clean:
	rm -rf workspace
