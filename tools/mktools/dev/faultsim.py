"""The emulator on a pty, with faults injected on command: what `modemkit sim` runs, plus a
line protocol on stdin so that a soak can inject any fault at any moment of a long run.

    python -m mktools.dev.faultsim --dialect quectel --pty LINK [--host NAME=127.0.0.1 ...]

Commands (one a line on stdin; each answered by one line on stdout, 'ok <command> <detail>' or
'ignored <command> <why>'):

    reboot                      the module restarts (start-up URCs after its boot time)
    pdp <cid>                   the network deactivates PDP context <cid>
    garble <rate> | drop <rate> per-byte probability of corrupting | losing a byte on the line
                                (rate 0: the answer adds how many bytes were hit meanwhile)
    hits garble|drop            how many bytes were hit since the rate was set
    serial_stall 1|0            the serial line stops (and restarts) moving bytes both ways:
                                the DTE's writes wait in the pty, the module's output is held
    peer_reset | peer_close     the remote end of every connected TCP socket sends RST | FIN
    net_stall 1|0               every socket stops (and restarts) moving data on the network
    fill_rx                     the module's receive buffer of every connected socket fills
                                with zero bytes the peer never sent
    quit                        stop

The first line printed is 'modemkit sim: <dialect> on <link>', as `modemkit sim` prints it.
"""
import argparse
import os
import sys

from mktools.sim import load_dialect
from mktools.sim.cli import _host_entry
from mktools.sim.core.frontends import PtyFrontend
from mktools.sim.core.loop import Loop
from mktools.sim.core.net import Net
from mktools.sim.core.wire import Wire

COMMAND_MAX = 200          # bytes of one command line; longer input is dropped


class StallingPty(PtyFrontend):
    """A pty whose line can be stopped: reads from the DTE pause (its writes wait in the pty, as
    at a UART with CTS off) and the module's output is held until the line runs again."""

    stalled = False

    def __init__(self, loop, wire, link=None):
        self._held = bytearray()
        super().__init__(loop, wire, link)

    def input_flow(self):
        want = self.wire.dte_may_send() and not self.stalled
        if want != self._reading:
            self._reading = want
            (self.loop.add_reader(self.master, self._readable) if want
             else self.loop.remove_reader(self.master))

    def deliver(self, data):
        if self.stalled:
            self._held.extend(data)
        else:
            super().deliver(data)

    def pending(self):
        return super().pending() + len(self._held)

    def stall(self, on):
        self.stalled = on
        if not on and self._held:
            held, self._held = bytes(self._held), bytearray()
            super().deliver(held)
        self.input_flow()


def _connected(modem):
    """Ids of the Quectel module's connected TCP sockets (its `sockets` table, QL §2.1.4)."""
    from mktools.sim.quectel.common import CONNECTED
    table = getattr(modem, 'sockets', None)
    if not isinstance(table, dict):
        return []
    return [sid for sid, s in sorted(table.items()) if s.is_tcp() and s.state == CONNECTED]


class Control:
    """Reads commands from stdin inside the emulator's loop and acts on the module."""

    def __init__(self, loop, modem, wire, frontend, out=sys.stdout):
        self.loop, self.modem, self.wire, self.frontend = loop, modem, wire, frontend
        self.out = out
        self.buf = b''
        self.since = {}
        loop.add_reader(sys.stdin.fileno(), self._readable)

    def _readable(self):
        data = os.read(sys.stdin.fileno(), 1024)
        if not data:
            self.loop.remove_reader(sys.stdin.fileno())
            self.loop.stop()
            return
        self.buf += data
        while b'\n' in self.buf:
            line, self.buf = self.buf.split(b'\n', 1)
            self._answer(line.decode('ascii', 'replace').split())
        if len(self.buf) > COMMAND_MAX:
            self.buf = b''

    def _answer(self, words):
        if not words:
            return
        try:
            status, detail = self.run(words[0], words[1:])
        except (ValueError, IndexError) as e:
            status, detail = 'ignored', 'bad arguments: %s' % e
        self.out.write('%s %s %s\n' % (status, words[0], detail))
        self.out.flush()

    def _hits(self, kind):
        # bytes garbled or dropped since the rate was last set (the wire's event log)
        t = self.since.get(kind)
        if t is None:
            return 0
        t = round(t, 6)
        return sum(1 for e in self.wire.events if e['event'] == kind and e['t'] >= t)

    def run(self, cmd, args):
        m = self.modem
        if cmd == 'reboot':
            m.reboot()
            return 'ok', ''
        if cmd == 'pdp':
            m.pdp_deactivate(int(args[0]))
            return 'ok', args[0]
        if cmd in ('garble', 'drop'):
            rate = float(args[0])
            if not 0.0 <= rate <= 1.0:
                raise ValueError('a rate is between 0 and 1')
            setattr(self.wire, cmd + '_rate', rate)
            if rate:
                self.since[cmd] = self.loop.now()
                return 'ok', '%g' % rate
            return 'ok', '0 %d' % self._hits(cmd)
        if cmd == 'hits':
            return 'ok', '%s %d' % (args[0], self._hits(args[0]))
        if cmd == 'serial_stall':
            self.frontend.stall(args[0] == '1')
            return 'ok', args[0]
        if cmd in ('peer_reset', 'peer_close', 'net_stall', 'fill_rx'):
            ids = _connected(m)
            if not ids:
                return 'ignored', 'no connected socket'
            for sid in ids:
                if cmd == 'net_stall':
                    m.stall(sid, args[0] == '1')
                else:
                    getattr(m, cmd)(sid)
            return 'ok', ','.join(str(i) for i in ids)
        if cmd == 'quit':
            self.loop.stop()
            return 'ok', ''
        return 'ignored', 'unknown command'


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m mktools.dev.faultsim',
                                 description=__doc__.split('\n\n')[0])
    ap.add_argument('--dialect', required=True)
    ap.add_argument('--variant')
    ap.add_argument('--pty', required=True, metavar='LINK')
    ap.add_argument('--host', action='append', type=_host_entry, default=[])
    ap.add_argument('--boot-ms', type=float, metavar='N')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)
    try:
        modem_cls = load_dialect(args.dialect)
    except (ImportError, KeyError) as e:
        ap.error('dialect %s is not available: %s' % (args.dialect, e))
    config = {'hosts': dict(args.host)}
    if args.variant:
        config['variant'] = args.variant
    if args.boot_ms is not None:
        config['boot_s'] = args.boot_ms / 1000
    loop = Loop()
    net = Net(loop, hosts=config['hosts'])
    wire = Wire(loop, seed=args.seed)
    modem = modem_cls(loop, net, config)
    modem.attach(wire)
    frontend = StallingPty(loop, wire, link=args.pty)
    Control(loop, modem, wire, frontend)
    print('modemkit sim: %s on %s (pty %s)' % (args.dialect, args.pty, frontend.path),
          flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        frontend.close()
        net.close_all()
        loop.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
