# Two commands a newcomer needs: `make demo` (the main job) and `make test` (every test).
# Both create the virtual environment in .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test sysdeps clean bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# System packages used as real peers in tests (mosquitto, the MQTT broker).
sysdeps:
	@$(PYTHON) tools/sysdeps.py

demo: $(VENV)/.installed sysdeps
	$(PY) -m mktools.cli demo $(ARGS)

test: $(VENV)/.installed sysdeps
	$(PY) -m mktools.dev.testall

# Every benchmark; writes bench/results.json and bench/results.md (see README, "Benchmarks").
bench: $(VENV)/.installed sysdeps
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) build
