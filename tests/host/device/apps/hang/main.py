"""A new version that starts and then hangs without ever talking to the module, so its boot
script never sees a healthy start: only the upgrade tool's deadline can undo it."""
import time


def main(path='board.json'):
    while True:
        time.sleep(1)
