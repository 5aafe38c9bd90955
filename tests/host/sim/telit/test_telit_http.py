"""Telit native HTTP (T-IPE §10) against Python's http.server on 127.0.0.1: the §10.4 examples
(GT-15) as transcripts, profiles, one session per module, timeouts, the seed's URC spelling."""

import os
import sys

import pytest

from test_telit_support import make_harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'http'))
from httpserver import http_server, payload     # noqa: E402,F401  (fixture)

HOSTS = {'hosts': {'server_address': '127.0.0.1'}}


def ask(h, line, ring, timeout_s=10.0):
    """A request answered OK, then its #HTTPRING (fake time may bring both in one read)."""
    out = h.cmd(line)
    assert out[0] == 'OK', out
    if len(out) == 1:
        h.expect_urc(ring, timeout_s)
    else:
        assert out[1:] == [ring]


@pytest.fixture
def hh(http_server):
    """HE910, cid 1 active, profile 0 on the test server, bound to cid 1."""
    with make_harness(activate=(1,), config=HOSTS) as h:
        assert h.cmd(f'AT#HTTPCFG=0,"server_address",{http_server.port},0,,,0,120,1') == ['OK']
        yield h


def test_profiles_defaults_and_reset():
    with make_harness() as h:
        assert h.cmd('AT#HTTPCFG=?') == [
            '#HTTPCFG: (0-2),50,(1-65535),(0,1),50,50,(0,1),(1-65535),(1-5),(0-1500),(0),(0)',
            'OK']
        # §10.1.2 read example (3G): the password never reads back
        assert h.cmd('AT#HTTPCFG?') == [
            '#HTTPCFG: 0,"",80,0,"","*****",0,120,3,300,0,0',
            '#HTTPCFG: 1,"",80,0,"","*****",0,120,3,300,0,0',
            '#HTTPCFG: 2,"m2mlocate.telit.com",9978,0,"","*****",0,120,3,300,0,0', 'OK']
        assert h.cmd('AT#HTTPCFG=1,"web.test",8080,1,"u","secret",0,30,1') == ['OK']
        assert h.cmd('AT#HTTPCFG?')[1] == '#HTTPCFG: 1,"web.test",8080,1,"u","*****",0,30,1,300,0,0'
        assert h.cmd('AT#HTTPCFG=1') == ['OK']
        assert h.cmd('AT#HTTPCFG?')[1] == '#HTTPCFG: 1,"",80,0,"","*****",0,120,3,300,0,0'
        assert h.cmd('AT#HTTPCFG=3') == ['+CME ERROR: incorrect parameters']
    with make_harness(variant='le910c1') as h:       # §10.1.3.3.1
        assert h.cmd('AT#HTTPCFG=?') == [
            '#HTTPCFG: (0-2),63,(1-65535),(0,1),50,50,(0),(1-65535),(1-5)', 'OK']


def test_get_example(hh, http_server):
    """GT-15, §10.4.1: OK at once, #HTTPRING once the answer is in, #HTTPRCV prints the body."""
    ask(hh, 'AT#HTTPQRY=0,0,"/bytes/1270"', '#HTTPRING: 0,200,"application/octet-stream",1270')
    hh.read()
    hh.write('AT#HTTPRCV=0\r')
    hh.wait_for(lambda: hh.rx.endswith(b'\r\nOK\r\n'))
    assert hh.read() == b'AT#HTTPRCV=0\r\r\n' + payload(1270) + b'\r\nOK\r\n'
    assert hh.cmd('AT#HTTPRCV=0') == ['+CME ERROR: operation not allowed']
    method, path, headers = http_server.requests[-1]
    assert (method, path, headers['Connection']) == ('GET', '/bytes/1270', 'close')


def test_post_example_and_extra_headers(hh, http_server):
    """GT-15, §10.4.2: '>>>', exactly <data_len> bytes, OK, then #HTTPRING."""
    body = b'a' * 27
    assert hh.cmd('AT#HTTPSND=0,0,"/echo",27,"1","X-One: 1>>X-Two: 2"') == ['>>>']
    hh.write(body)
    hh.expect_urc('OK')
    hh.expect_urc('#HTTPRING: 0,200,"text/plain",27', 10.0)
    method, path, headers = http_server.requests[-1]
    assert (method, headers['Content-Type'], headers['X-One'], headers['X-Two']) == (
        'POST', 'text/plain', '1', '2')
    assert hh.cmd('AT#HTTPSND=0,1,"/echo",3,"application/x-thing"') == ['>>>']
    hh.write(b'xyz')
    hh.expect_urc('OK')
    hh.expect_urc('#HTTPRING: 0,200,"application/x-thing",3', 10.0)
    assert http_server.requests[-1][0] == 'PUT'


def test_chunked_answer_is_decoded_and_redirect_reported(hh):
    ask(hh, 'AT#HTTPQRY=0,0,"/chunked/5000"', '#HTTPRING: 0,200,"application/octet-stream",5000')
    ask(hh, 'AT#HTTPQRY=0,0,"/redirect/0"', '#HTTPRING: 0,302,"",5')


def test_one_session_per_module_and_timeout(hh, http_server):
    assert hh.cmd(f'AT#HTTPCFG=1,"server_address",{http_server.port},0,,,0,2,1') == ['OK']
    other = hh.modem.spawn_instance()
    assert hh.cmd('AT#HTTPQRY=1,0,"/stall"') == ['OK']
    # §10: a second HTTP session, even from another port, fails while one is open
    assert hh.cmd('AT#HTTPQRY=0,0,"/bytes/1"') == ['+CME ERROR: Already connected']
    other.cmee = 2
    assert other.at_httpqry('set', ['0', '0', '/bytes/1']) == '+CME ERROR: Already connected'
    # §10.2 note I: no answer within <timeout> (2 s) gives status 0
    hh.expect_urc('#HTTPRING: 1,0,"",0', 10.0)
    ask(hh, 'AT#HTTPQRY=0,0,"/bytes/1"', '#HTTPRING: 0,200,"application/octet-stream",1')


def test_refusals(hh):
    assert hh.cmd('AT#HTTPQRY=2,0,"/"') == ['ERROR']          # its cid 3 is not active (§6.2)
    assert hh.cmd('AT#HTTPCFG=2,,,,,,,,1') == ['OK']
    assert hh.cmd('AT#HTTPQRY=2,0,"/"') == ['+CME ERROR: cannot resolve DN']
    assert hh.cmd('AT#HTTPCFG=1,"server_address",80,0,,,0,120,3') == ['OK']
    assert hh.cmd('AT#HTTPQRY=1,0,"/"') == ['ERROR']          # cid 3 not active (§6.2)
    assert hh.cmd('AT#HTTPCFG=1,"server_address",80,0,,,1,120,1') == ['OK']
    assert hh.cmd('AT#HTTPQRY=1,0,"/"') == ['+CME ERROR: operation not supported']
    assert hh.cmd('AT#HTTPRCV=0') == ['+CME ERROR: operation not allowed']


def test_bad_status_line_is_status_0(hh):
    ask(hh, 'AT#HTTPQRY=0,0,"/bad-status"', '#HTTPRING: 0,0,"",0')


def test_seed_spelling_on_request(http_server):
    """The seed's body text prints #HTTTPRING and types #HTTTPRCV (digest A.3.5)."""
    with make_harness(activate=(1,), config={**HOSTS, 'http_ring': '#HTTTPRING'}) as h:
        assert h.cmd(f'AT#HTTPCFG=0,"server_address",{http_server.port},0,,,0,120,1') == ['OK']
        ask(h, 'AT#HTTPQRY=0,0,"/bytes/3"', '#HTTTPRING: 0,200,"application/octet-stream",3')
        h.read()
        h.write('AT#HTTTPRCV=0\r')
        h.wait_for(lambda: h.rx.endswith(b'\r\nOK\r\n'))
        assert h.read() == b'AT#HTTTPRCV=0\r\r\n' + payload(3) + b'\r\nOK\r\n'


def test_profiles_survive_a_reboot(hh, http_server):
    hh.modem.reboot(0)
    hh.advance(5)
    assert hh.cmd('AT#HTTPCFG?')[0] == (
        f'#HTTPCFG: 0,"server_address",{http_server.port},0,"","*****",0,120,1,300,0,0')


def test_context_loss_ends_the_request_with_status_0(hh, http_server):
    """The context under the HTTP service socket goes: no answer can come (status 0, §10.2
    note I), the session is free again."""
    assert hh.cmd('AT#HTTPQRY=0,0,"/stall"') == ['OK']
    hh.modem.pdp_deactivate(1)
    hh.expect_urc('#HTTPRING: 0,0,"",0', 10.0)
    assert hh.modem.module.http.exchange is None
