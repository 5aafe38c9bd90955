# MicroPython freeze manifest for modemkit and one app: compiled into a custom firmware, the
# modules need no filesystem space and load without heap for their bytecode.
#
# `modemkit bundle APP --board BOARD --target micropython --out DIR` writes DIR/manifest.py
# from this file (only the settings block differs) and stages the app's sources in DIR/freeze/
# (the app's entry module renamed appmain.py, as main.py is the launcher's name).  Then:
#
#   make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=DIR/manifest.py
#
# and copy DIR/device/main.py and DIR/device/<slot>/board.json to the board (the frozen
# modules are found on sys.path's '.frozen' entry, after the slot directory).

# -- settings (written by modemkit bundle) --
BASE = 'freeze'
LIB_FILES = []
APP_FILES = []
# -- end of settings --

include("$(PORT_DIR)/boards/manifest.py")
if LIB_FILES:
    package("modemkit", files=LIB_FILES, base_path=BASE)
for name in APP_FILES:
    module(name, base_path=BASE)
