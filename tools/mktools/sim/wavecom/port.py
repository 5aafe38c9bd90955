"""The Wavecom serial port: result framing, error forms and the data-mode arbitration.

Only one session at a time owns the serial port in data mode (the port carries no session id);
a listener whose client arrives while the port is busy announces itself once the port is back
in command mode [NOT IN SEED: digest Part F, "the mechanism for two concurrent TCP sockets"].
"""

import functools
from collections import deque

from mktools.sim.wavecom.tables import BOTH, NUMERIC

CME = '#CME ERROR: '


def stack(variants=BOTH):
    """Decorate an IP stack command handler: unknown while the stack is stopped (MT
    `AT+WOPEN=0`) or on a variant whose manual does not list the command."""
    def wrap(method):
        @functools.wraps(method)
        def handler(self, op, args):
            if not self.stack_open or self.variant.name not in variants:
                return self.unknown_command(self.command)
            return method(self, op, args)
        return handler
    return wrap


class WavecomPort:
    """Mixin of `WavecomModem`: texts, error forms and who owns the port in data mode."""

    def reset_port(self):
        self.port_owner = None               # the session in data mode
        self._announce = deque(maxlen=4)     # (session, info key) waiting for command mode

    # -- texts ------------------------------------------------------------------------------

    def info(self, key):
        """An information message in the variant's spelling (MT `OK_Info_`, GP `Ok_Info_`)."""
        return self.variant.info[key]

    @staticmethod
    def error(code):
        """`#CME ERROR: <code>` (MT Chapter 9); the stack ignores +CMEE."""
        return f'{CME}{code}'

    def syntax_error(self):
        # MT Chapter 9 lists the 348xx "Bad command" codes; GP §9.2 does not: plain ERROR
        return self.error(34819) if self.variant.syntax_errors else 'ERROR'

    def value_error(self):
        return self.error(34882) if self.variant.syntax_errors else 'ERROR'

    def unknown_command(self, cmd):
        if cmd.name.startswith('#') and self.stack_open and self.variant.syntax_errors:
            return self.error(34817)
        return 'ERROR'

    def bad_arg(self, cmd, exc):
        if cmd.name.startswith('#'):
            return self.value_error()
        if cmd.name.startswith('+EGNTP'):
            return 'ERROR'
        return super().bad_arg(cmd, exc)

    def frame_result(self, text):
        # MT App. B "Serial Communication": "[CR]#CME ERROR: Value [CR][LF]" for an error,
        # "[CR]numeric code[CR]" with ATV0, "[CR][LF]message[CR][LF]" with ATV1.
        if text.startswith(CME):
            return f'\r{text}\r\n'.encode('latin-1')
        if not self.verbose and text in NUMERIC:
            return f'\r{NUMERIC[text]}\r'.encode('latin-1')
        return super().frame_result(text)

    def value_line(self, text):
        """A parameter line: MT App. B "#Mnemonic: value[CR][LF]" (no leading CR LF)."""
        self.send(f'{text}\r\n'.encode('latin-1'))

    # -- data mode --------------------------------------------------------------------------

    def enter_data_mode(self, session, info_key):
        """End the running command with the `info_key` message and give the port to
        `session` (`#OTCP`, `#OUDP`, `#FTPGET`...)."""
        session.banner_due = True
        self._after_line(lambda: self._start(session))
        self.finish(self.info(info_key))

    def announce_data_mode(self, session, info_key):
        """An asynchronous `info_key` message then data mode (`#LTCPSTART` client arrived,
        first `#LUDPSTART` datagram), as soon as the port is free in command mode."""
        self._announce.append((session, info_key))
        self._serve_announcements()

    def _serve_announcements(self):
        while self._announce and self.mode == 'command' and self.port_owner is None:
            session, key = self._announce.popleft()
            if session.closed:
                continue
            self.send(self.frame_result(self.info(key)))
            self._start(session)

    def _enter_command_mode(self):
        super()._enter_command_mode()
        self._serve_announcements()

    def _start(self, session):
        if session.closed:
            self.log('session_gone', session=session.name)
            return
        self.port_owner = session
        self.take_input(session.from_host)
        session.port_started()

    def to_host(self, session, data):
        """Bytes of `session` to the DTE; False while the session does not own the port."""
        if self.port_owner is not session or self.mode != 'raw':
            return False
        self.send(data)
        return True

    def host_backlog_s(self):
        """Seconds of DCE->DTE data still on the serial line (for flow control)."""
        return self.wire.backlog_s() if self.wire is not None else 0.0

    def close_data_mode(self, session, final, lead=b'', info_key=None):
        """Leave data mode: `lead` (a bare ETX), the `info_key` message, then `final`
        (`OK`, `#CME ERROR: n`, or None for no final result)."""
        if self.port_owner is not session:
            return False
        self.port_owner = None
        out = lead + (self.frame_result(self.info(info_key)) if info_key else b'')
        self.send(out)
        self.release_input(final)
        return True

    def drop_announcements(self):
        self._announce.clear()
