"""Wrap-safe millisecond tick arithmetic for ports whose clock does not provide it.

The period is 2**30, as on 32-bit MicroPython, so code tested here meets a wrap as it would on a
microcontroller.
"""
TICKS_PERIOD = 1 << 30
_MASK = TICKS_PERIOD - 1
_HALF = TICKS_PERIOD >> 1


def ticks_add(t, delta):
    return (t + delta) & _MASK


def ticks_diff(a, b):
    return ((a - b + _HALF) & _MASK) - _HALF
