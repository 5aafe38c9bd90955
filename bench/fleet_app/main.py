"""The app the fleet benchmark upgrades 1,000 emulated modules to.  It talks to the module once
HEALTHY_S has passed, so that its boot script records a healthy start ("alive", what the tool
confirms), and then leaves with SystemExit, which the boot script does not catch: the state
stays "alive" and the process is gone.  On a real module each script has the module's own CPU
and RAM; in one host a thousand idle CPython script processes would cost ~8.5 MB of PSS each
(docs/fleet.md), and that is the emulator's cost, not the upgrade's."""
import MDM
import MOD

FIRST_TENTHS = 15           # after the benchmark's --healthy-s 1


def main(path='board.json'):
    MOD.sleep(FIRST_TENTHS)
    MDM.send('AT\r', 5)
    MDM.receive(10)
    raise SystemExit(0)
