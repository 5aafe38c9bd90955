# Two commands a newcomer needs: `make demo` (the main job) and `make test` (every test).
# Both create the virtual environment in .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test sysdeps clean bench soak

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# System packages used as real peers in tests (mosquitto, the MQTT broker).
sysdeps:
	@$(PYTHON) tools/sysdeps.py

demo: $(VENV)/.installed sysdeps
	$(PY) -m mktools.dev.demo

test: $(VENV)/.installed sysdeps
	$(PY) -m mktools.dev.testall

# Every benchmark; writes bench/results.json and bench/results.md (see README, "Benchmarks").
bench: $(VENV)/.installed sysdeps
	$(PY) -m bench.run

# The soak: 10,000 QoS 1 samples through 100 faults of every kind the emulator has, on the
# MicroPython unix port (about a quarter of an hour); writes bench/soak.json. `make test` runs a
# short one (tests/host/apps/test_soak.py). SOAK_ARGS: e.g. --samples 2000 --faults 20.
soak: $(VENV)/.installed sysdeps
	$(PY) -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) build
