"""Host-side tools for modemkit (the modem emulator lives in `mktools.sim`)."""
