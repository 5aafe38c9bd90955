"""A modem whose connections play scripted server answers, for the protocol clients' portable
tests (http, mail). Each connection follows the socket interface of modemkit.sock: send() takes
everything, recv_into() hands over at most `piece` bytes a call (to cut the answer at awkward
places) and 0 at the end of the stream, as a socket the peer closed."""
from modemkit.sched import Return
from modemkit.sock import OPEN, CLOSED


class ScriptedSock(object):
    dropped = 0

    def __init__(self, answer, piece):
        self.answer = bytearray(answer)
        self.piece = piece
        self.pos = 0
        self.sent = bytearray()
        self.state = OPEN

    def send(self, data, timeout_ms=None, nbytes=None):
        n = len(data) if nbytes is None else nbytes
        self.sent.extend(bytes(data[:n]))
        raise Return(n)
        yield

    def recv_into(self, buf, timeout_ms=None, nbytes=None):
        want = len(buf) if nbytes is None else nbytes
        k = min(want, self.piece, len(self.answer) - self.pos)
        for i in range(k):
            buf[i] = self.answer[self.pos + i]
        self.pos += k
        if not k:
            self.state = CLOSED
        raise Return(k)
        yield

    def close(self):
        self.state = CLOSED
        if False:
            yield


class ScriptedModem(object):
    """Opens one ScriptedSock per connection, with the next of `answers`; remembers where each
    went (opened) and what was sent on it (socks[i].sent)."""

    def __init__(self, answers, piece):
        self.answers = list(answers)
        self.piece = piece
        self.opened = []
        self.socks = []
        self.cfg = {'dialect': 'quectel'}
        self.rx_size = 256               # the board's ring sizes, as a Modem has them
        self.tx_size = 128
        self.rings = []                  # the rx_size, tx_size each open was given

    def open(self, host, port, kind=0, timeout_ms=None, rx_size=None, tx_size=None):
        self.opened.append((host, port))
        self.rings.append((rx_size, tx_size))
        s = ScriptedSock(self.answers.pop(0), self.piece)
        self.socks.append(s)
        raise Return(s)
        yield
