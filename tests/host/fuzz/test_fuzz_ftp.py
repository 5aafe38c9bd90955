"""The FTP control-reply parser (lib/modemkit/ftp_py.py, RFC 959 §4.2) on a real modemkit
Socket ring: whatever the server says (real replies whole, cut, multi-line, mixed with noise,
over-long, not UTF-8), each read gives a code 0-999 or raises an FtpError, and the end of the
stream is FtpError (Broken), never anything else."""

from hypothesis import given, strategies as st

from fuzzing import examples, run_property, tried
from modemkit.ftp import FtpError
from modemkit.ftp_py import Ftp
from modemkit.sched import Return
from modemkit.sock import EOF, OPEN, TCP, Socket
from mqttfake import FakeModem

REPLIES = [b'220 ProFTPD Server ready.', b'331 Password required for u', b'230 User logged in',
           b'530 Login incorrect.', b'200 Type set to I', b'213 4096', b'250 9A3F00C1',
           b'227 Entering Passive Mode (127,0,0,1,195,80).', b'150 Opening BINARY mode',
           b'226 Transfer complete', b'550 f.txt: No such file or directory', b'426 Aborted',
           b'220-Welcome', b'220-second line', b'220 last', b'500 \xe9t\xe9 refus\xe9', b'1',
           b'999-', b'12345 x', b'']
line = st.one_of(
    st.tuples(st.sampled_from(REPLIES), st.integers(0, 60)).map(lambda r: r[0][:r[1]]),
    st.binary(max_size=30),
    st.integers(100, 400).map(lambda n: b'226 ' + b'x' * n),
)
ends = st.sampled_from([b'\r\n', b'\n', b'\r', b''])
stream = st.lists(st.tuples(line, ends).map(lambda le: le[0] + le[1]), max_size=10).map(
    b''.join)


@examples(1000)
@given(data=stream, kinds=st.lists(st.sampled_from([0, 1, 2, 3]), min_size=1, max_size=6),
       line_size=st.sampled_from([16, 64, 128]))
def _replies(data, kinds, line_size):
    tried('ftp-replies')
    m = FakeModem()
    ftp = Ftp(m, {'host': 'ftp.test', 'line': line_size}, bytearray(64))
    s = Socket(m, TCP, 4096, 256)
    s.state = OPEN
    s.put(bytearray(data), 0, len(data))
    s.state = EOF                            # the server said all it had to
    ftp.ctl = s

    def main():
        codes = []
        for kind in kinds:
            try:
                code = yield ftp._ask(None, kind)
            except FtpError as e:
                codes.append(type(e).__name__)
                str(e)
                continue
            assert 0 <= code <= 999 and (not kind or code // 100 == kind)
            ftp._text()
            codes.append(code)
        raise Return(codes)

    m.sched.run(main())


def test_ftp_reply_parser_takes_any_server_text():
    run_property(_replies)
