"""The FTP helpers' parsing and error family, on every interpreter (no network)."""
from modemkit import ftp
from modemkit.ftp_py import _rnum
from modemkit.sock import NetError


def test_reply_numbers_are_read_from_the_end():
    line = bytearray(b'227 Entering Passive Mode (127,0,0,1,177,185).\r\n')
    p2, i = _rnum(line, len(line), 10)
    p1, i = _rnum(line, i, 10)
    assert p1 * 256 + p2 == 177 * 256 + 185
    assert _rnum(bytearray(b'213 5242880\r\n'), 13, 10)[0] == 5242880
    assert _rnum(bytearray(b'250 0xDEADbeef\r\n'), 16, 16)[0] == 0xdeadbeef
    assert _rnum(bytearray(b'220-hello'), 3, 10)[0] == 220


def test_errors_are_one_family():
    for cls in (ftp.LoginRefused, ftp.NoSuchFile, ftp.Broken, ftp.FtpError, ftp.Timeout):
        assert issubclass(cls, NetError)
    e = ftp.NoSuchFile(ftp.ENOENT, 'x.bin: 550')
    assert e.args[0] == 2


def test_part_is_the_buffer_or_a_view():
    buf = bytearray(b'abcdef')
    assert ftp.part(buf, 6) is buf
    assert bytearray(ftp.part(buf, 3)) == b'abc'
