"""Online (transparent) mode of `Modem`: DTE bytes go to the peer until a guarded `+++`.

The escape follows the V.250 / Quectel §1.2 rules: no byte for the guard time before, the three
`+` within the guard time, no byte for the guard time after (`guard_s`, Telit ATS12).
"""

PLUS = 0x2B


class OnlineMode:
    """Mixin of `Modem`; its state is `_online` (None when not online) and `_pending_to_dte`."""

    def go_online(self, to_peer, on_escape):
        """Transparent mode (after the handler's CONNECT): DTE bytes go to `to_peer(data)`;
        a guarded `+++` calls `on_escape()`, which returns the final result (`OK`)."""
        def enter():
            self._online = {'to_peer': to_peer, 'on_escape': on_escape, 'last': self.loop.now(),
                            'plus': 0, 'start': 0.0, 'timer': None}
            self.mode = 'online'
            pending, self._pending_to_dte = bytes(self._pending_to_dte), bytearray()
            self.send(pending)
            if self._held:
                self.loop.call_later(0, self._drain_held)
        self._after_line(enter)

    def to_dte(self, data):
        """Peer data to the DTE while online (kept until CONNECT has gone out)."""
        if self.mode == 'online':
            self.send(data)
        elif self._then is not None and len(self._pending_to_dte) + len(data) <= self.HELD_MAX:
            self._pending_to_dte += data
        else:
            self.log('to_dte_dropped', size=len(data), mode=self.mode)

    def go_command(self, final='NO CARRIER'):
        """Leave online mode (peer closed, error) with `final`."""
        if self._online is None:
            self.log('go_command_ignored', mode=self.mode, final=final)
            return
        self._break_escape()
        self._online = None
        self._leave_data_mode(final)

    def _escape_continues(self, now):
        o = self._online
        if o['plus'] == 0:
            return now - o['last'] >= self.guard_s
        return o['plus'] < 3 and now - o['start'] <= self.guard_s

    def _break_escape(self):
        """A byte broke a `+++` in progress: returns the held `+` bytes owed to the peer."""
        o = self._online
        if not o['plus']:
            return b''
        o['timer'].cancel()
        owed = b'' if self.ESCAPE_TO_PEER else b'+' * o['plus']
        o['plus'] = 0
        return owed

    def _escape_timeout(self):
        """The second/third `+` did not come within the guard time."""
        if self._online is not None and self._online['plus'] < 3:
            owed = self._break_escape()
            if owed:
                self._online['to_peer'](owed)

    def _escape_complete(self):
        o, self._online = self._online, None
        self.log('escape')
        self._leave_data_mode(o['on_escape']())

    def _rx_online(self, data):
        o = self._online
        now = self.loop.now()
        out = bytearray()
        for b in data:
            if b == PLUS and self._escape_continues(now):
                o['plus'] += 1
                if o['plus'] == 1:
                    o['start'] = now
                    o['timer'] = self.later(self.guard_s, self._escape_timeout)
                elif o['plus'] == 3:
                    o['timer'].cancel()
                    o['timer'] = self.later(self.guard_s, self._escape_complete)
                if self.ESCAPE_TO_PEER:
                    out.append(b)
            else:
                out += self._break_escape()
                out.append(b)
            o['last'] = now
        if out:
            o['to_peer'](bytes(out))
        return b''
