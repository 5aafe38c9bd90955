"""modemkit's benchmarks: how close it runs to the serial line's limit, on how little memory,
against its peers. `python -m bench.run` (or `make bench`) runs them all and writes
bench/results.json and bench/results.md."""
