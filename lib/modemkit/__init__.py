"""modemkit: the on-target library (MicroPython, Telit Python 2.7, CPython)."""
VERSION = '0.1.0'


def unload(name):
    """Forget submodule modemkit.<name> so that the heap its code holds can be collected (code
    only startup or a one-off request runs); the next import loads it again. Functions of it
    still running keep what they use."""
    import sys
    sys.modules.pop('modemkit.' + name, None)
    globals().pop(name, None)
