"""The emulated Wavecom-stack modems (Multi-Tech and GenPro AT# commands)."""
