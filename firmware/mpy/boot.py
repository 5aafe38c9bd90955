"""modemkit boot.py for MicroPython boards: runs at every reset, before main.py.

Deliberately small: whatever it does runs before the REPL is usable, so a mistake here can lock
a board out of `mpremote`.  The app slot, the crash handling and the app itself live in main.py,
which `modemkit deploy` replaces atomically when it switches slots.
"""
import gc

# Collect early and often: the AT channel and the MQTT client allocate their buffers once at
# start-up, and a fragmented heap is what makes those large allocations fail on small boards.
gc.collect()
gc.threshold(gc.mem_free() // 4 + gc.mem_alloc())
