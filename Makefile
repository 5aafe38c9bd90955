# Two commands a newcomer needs: `make demo` (the main job) and `make test` (every test).
# Both create the virtual environment in .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test fuzz soak sysdeps clean bench

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

# The fuzzing properties of tests/host/fuzz (a minute of them runs in `make test`) for as long
# as asked, e.g. `make fuzz SECONDS=600`; prints the examples tried. A failure is shrunk and
# printed, kept in .hypothesis/ and tried first the next time; keep it in tests/core as a test.
SECONDS ?= 300
fuzz: $(VENV)/.installed
	MODEMKIT_FUZZ_SECONDS=$(SECONDS) $(PY) -m pytest -q tests/host/fuzz

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
