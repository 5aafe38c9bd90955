"""modemkit: the on-target library (MicroPython, Telit Python 2.7, CPython)."""
VERSION = '0.1.0'
