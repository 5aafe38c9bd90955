"""The emulator's tests, one folder per part of tools/mktools/sim; `harness` (beside this file)
drives a modem in-process for all of them."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
