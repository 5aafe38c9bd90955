"""TLS through Telit's own clients (#HTTPCFG <ssl_enable>, #MQCFG <sslEn>, #SMTPCFG <ssl_enable>)
with `tls=True`: the emulated module speaks real TLS to local servers whose certificates come
from a test CA made here (trustme); the module trusts that CA (emulator config `tls_ca`). A
server whose certificate another CA signed is refused before any request reaches it."""
import io
import os
import shutil
import ssl
import sys
import tempfile

import pytest

trustme = pytest.importorskip('trustme')

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'drivers'))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'http'))

from rig import Rig                                          # noqa: E402
import httpserver                                            # noqa: E402

from modemkit import http                                    # noqa: E402
from modemkit.mqtt_telit import TelitMQTT                    # noqa: E402
from modemkit.sched import Return                            # noqa: E402
from modemkit.sock import NetError                           # noqa: E402

HOST = 'web.test'
BROKER = 'broker.test'


@pytest.fixture
def pki():
    """A folder anyone can read (mosquitto drops to its own user) with the module's CA, a good
    server certificate for both names, and one from another CA."""
    d = tempfile.mkdtemp(prefix='modemkit-tls-')
    os.chmod(d, 0o755)
    ca, other = trustme.CA(), trustme.CA()
    paths = {'ca': os.path.join(d, 'ca.pem')}
    ca.cert_pem.write_to_path(paths['ca'])
    for name, issuer in (('good', ca), ('bad', other)):
        cert = issuer.issue_cert(HOST, BROKER)
        paths[name + '_cert'] = os.path.join(d, name + '-cert.pem')
        paths[name + '_key'] = os.path.join(d, name + '-key.pem')
        for blob in cert.cert_chain_pems:
            blob.write_to_path(paths[name + '_cert'], append=True)
        cert.private_key_pem.write_to_path(paths[name + '_key'])
    for p in os.listdir(d):
        os.chmod(os.path.join(d, p), 0o644)
    yield paths
    shutil.rmtree(d, ignore_errors=True)


class TlsServer(httpserver.Server):
    """The HTTP test server (httpserver.py's routes) behind TLS."""

    def __init__(self, cert, key):
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        super().__init__()

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(10)
        try:
            return self.ctx.wrap_socket(sock, server_side=True), addr
        except OSError:
            sock.close()
            raise                        # the client refused the certificate


@pytest.fixture
def https(pki):
    servers = []

    def start(which):
        s = TlsServer(pki[which + '_cert'], pki[which + '_key'])
        servers.append(s)
        return s
    yield start
    for s in servers:
        s.stop()


def telit(pki, variant='he910', **sim):
    return Rig('telit', sim=dict({'variant': variant, 'hosts': {HOST: '127.0.0.1',
                                                                BROKER: '127.0.0.1'},
                                  'tls_ca': pki['ca']}, **sim), baud=921600)


def run(rig, gen):
    def main():
        yield rig.drv.wait_ready(60000)
        r = yield gen
        raise Return(r)
    return rig.run(main())


def test_https_get_and_post_through_the_native_client(pki, https):
    server = https('good')
    rig = telit(pki)
    rig.sched.depth = http.DEPTH
    h = http.client(rig.drv, {'backend': 'telit', 'timeout_ms': 300000}, bytearray(512))

    def main():
        sink = io.BytesIO()
        r = yield h.request('GET', 'https://%s:%d/bytes/20000' % (HOST, server.port), sink=sink)
        a = (r.status, sink.getvalue())
        sink = io.BytesIO()
        r = yield h.request('POST', 'https://%s:%d/echo' % (HOST, server.port),
                            {'Content-Type': 'text/plain'}, b'over TLS', sink=sink)
        raise Return((a, (r.status, sink.getvalue())))

    a, b = run(rig, main())
    assert a == (200, httpserver.payload(20000))
    assert b == (200, b'over TLS')
    assert [q[:2] for q in server.requests] == [('GET', '/bytes/20000'), ('POST', '/echo')]


def test_tls_flag_on_http_url_and_a_wrong_certificate_refused(pki, https):
    good, bad = https('good'), https('bad')
    rig = telit(pki)
    rig.sched.depth = http.DEPTH
    h = http.client(rig.drv, {'backend': 'telit', 'tls': True, 'timeout_ms': 300000},
                    bytearray(512))

    def fetch(server):
        sink = io.BytesIO()
        r = yield h.request('GET', 'http://%s:%d/bytes/100' % (HOST, server.port), sink=sink)
        raise Return((r.status, len(sink.getvalue())))

    assert run(rig, fetch(good)) == (200, 100)
    with pytest.raises(NetError) as e:
        run(rig, fetch(bad))
    assert isinstance(e.value, http.ProtocolError)     # #HTTPRING status 0: no answer
    assert bad.requests == []
    assert any(ev['event'] == 'tls_refused' for ev in rig.sim.net.events)


class TlsBroker:
    def __init__(self, workdir, cert, key):
        from mktools.dev.demo import Broker, MissingBroker
        try:
            self.broker = Broker(workdir, extra='certfile %s\nkeyfile %s\nlog_dest none' % (
                cert, key))
        except MissingBroker as e:
            pytest.skip(str(e))
        self.port = self.broker.port

    def stop(self):
        self.broker.stop()


@pytest.fixture
def brokers(pki, tmp_path):
    made = []

    def start(which):
        work = tempfile.mkdtemp(prefix='modemkit-mq-')
        os.chmod(work, 0o777)
        b = TlsBroker(work, pki[which + '_cert'], pki[which + '_key'])
        made.append((b, work))
        return b
    yield start
    for b, work in made:
        b.stop()
        shutil.rmtree(work, ignore_errors=True)


def mqtt_roundtrip(rig, port):
    got = []
    c = TelitMQTT(rig.drv, BROKER, port, client_id='tls-test', tls=True, keepalive=60,
                  on_message=lambda topic, msg, retain: got.append((topic, bytes(msg))))

    def main():
        yield rig.drv.wait_ready(60000)
        c.start()
        yield c.wait_up(60000)
        yield c.subscribe('modemkit/tls')
        yield rig.sched.sleep_ms(500)
        yield c.publish('modemkit/tls', 'hello over tls', qos=1)
        for _ in range(200):
            if got:
                break
            yield rig.sched.sleep_ms(50)
        raise Return(list(got))

    return rig.run(main())


def test_mqtt_over_tls_and_a_wrong_certificate_refused(pki, brokers):
    good = brokers('good')
    rig = telit(pki, variant='me910c1')
    assert mqtt_roundtrip(rig, good.port) == [(b'modemkit/tls', b'hello over tls')]
    bad = brokers('bad')
    rig = telit(pki, variant='me910c1')
    c = TelitMQTT(rig.drv, BROKER, bad.port, client_id='tls-bad', tls=True)

    def main():
        yield rig.drv.wait_ready(60000)
        c.start()
        try:
            yield c.wait_up(20000)
        except Exception as e:
            raise Return(type(e).__name__)
        raise Return('up')

    assert rig.run(main()) == 'NotConnected'
    assert 'connection failed' in str(c.last_error)
    assert any(ev['event'] == 'tls_refused' for ev in rig.sim.net.events)


@pytest.fixture
def smtps(pki):
    from aiosmtpd.controller import Controller
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'mail'))
    from mailserver import Store, free_port
    made = []

    def start(which):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(pki[which + '_cert'], pki[which + '_key'])
        store = Store()
        ctl = Controller(store, hostname='127.0.0.1', port=free_port(), ssl_context=ctx)
        ctl.start()
        store.port = ctl.port
        made.append(ctl)
        return store
    yield start
    for ctl in made:
        ctl.stop()


def test_smtp_over_tls_and_a_wrong_certificate_refused(pki, smtps):
    from modemkit import mail
    good, bad = smtps('good'), smtps('bad')
    rig = telit(pki)
    rig.sched.depth = mail.DEPTH

    def client(server):
        return mail.client(rig.drv, {'backend': 'telit', 'tls': True, 'server': HOST,
                                     'port': server.port, 'sender': 'dev@example.test',
                                     'timeout_ms': 300000}, bytearray(256))

    run(rig, client(good).send('ops@example.test', 'over TLS', b'secret log\n'))
    (frm, rcpts, data), = good.wait(1)
    assert rcpts == ['ops@example.test'] and b'secret log' in data
    with pytest.raises(mail.Rejected) as e:
        run(rig, client(bad).send('ops@example.test', 'x', b'x'))
    assert 'connection failed' in str(e.value)
    assert bad.messages == []
