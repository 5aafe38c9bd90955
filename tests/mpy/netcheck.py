"""Exercise a dialect driver on the MicroPython unix port against `modemkit sim --pty`:

    python -m mktools.dev.romrun -X heapsize=64K --rom tests/mpy/netcheck.py -m netcheck \
        /rom/lib DIALECT TTY TCP UDP LISTEN NTP

prints one 'ok <check> <detail>' or 'FAIL <check> <error>' line per check and 'done'. 100 KB of
echo data are generated and verified on the fly (they would not fit in the heap).
"""
import sys
import gc

sys.path.insert(0, sys.argv[1])

from modemkit import port
from modemkit.sched import Scheduler, Return
from modemkit.sock import UDP, NetError

DIALECT, TTY = sys.argv[2], sys.argv[3]
TCP_PORT, UDP_PORT, LISTEN_PORT, NTP_PORT = [int(a) for a in sys.argv[4:8]]
ECHO_BYTES = 100 * 1024
CHUNK = 512


def driver_class():
    if DIALECT == 'quectel':
        from modemkit.quectel import Quectel
        return Quectel
    if DIALECT == 'telit':
        from modemkit.telit import Telit
        return Telit
    from modemkit.wavecom import Wavecom
    return Wavecom


def fill(buf, state):
    # xorshift32: the same stream on both sides without holding 100 KB
    x = state
    for i in range(len(buf)):
        x ^= (x << 13) & 0xffffffff
        x ^= x >> 17
        x ^= (x << 5) & 0xffffffff
        buf[i] = x & 0xff
    return x


sched = Scheduler()
# 512-byte socket rings: what a small MCU would configure (README, "Memory")
modem = driver_class()(sched, port.open_serial(TTY),
                       {'apn': 'internet', 'rx_size': 512, 'tx_size': 512}, log=lambda m: None)
modem.start()


def sender(sock):
    buf = bytearray(CHUNK)
    state = 2463534242
    sent = 0
    while sent < ECHO_BYTES:
        state = fill(buf, state)
        yield sock.send(buf, 30000)
        sent += CHUNK


def echo_check():
    sock = yield modem.open('echo.test', TCP_PORT, timeout_ms=60000)
    task = sched.spawn(sender(sock))
    want = bytearray(CHUNK)
    got = bytearray(CHUNK)
    state = 2463534242
    have = 0
    while have < ECHO_BYTES:
        state = fill(want, state)
        k = 0
        while k < CHUNK:
            n = yield sock.recv_into(memoryview(got)[k:], 30000)
            if not n:
                raise NetError(5, 'stream ended after %d bytes' % (have + k))
            k += n
        if got != want:
            raise NetError(5, 'mismatch in bytes %d-%d' % (have, have + CHUNK))
        have += CHUNK
    yield task.join()
    yield sock.close()
    raise Return('%d bytes intact' % have)


def udp_check():
    sock = yield modem.open('127.0.0.1', UDP_PORT, kind=UDP)
    buf = bytearray(64)
    yield sock.send(b'udp hello')
    n = yield sock.recv_into(buf, 20000)
    yield sock.close()
    raise Return(bytes(buf[:n]).decode())


def listen_check():
    lst = yield modem.listen(LISTEN_PORT)
    print('listening %d' % LISTEN_PORT)
    conn = yield lst.accept(60000)
    buf = bytearray(64)
    n = yield conn.recv_into(buf, 20000)
    yield conn.send(b'pong')
    yield conn.close()
    yield lst.close()
    raise Return(bytes(buf[:n]).decode())


def dns_check():
    ip = yield modem.resolve('echo.test')
    raise Return(ip)


def ping_check():
    stats = yield modem.ping('echo.test', count=2)
    raise Return('%d/%d replies' % (stats[1], stats[0]))


def ntp_check():
    when = yield modem.ntp('time.test', NTP_PORT)
    raise Return(when)


CHECKS = (('echo', echo_check, 'tcp'), ('udp', udp_check, 'udp'),
          ('listen', listen_check, 'listen'), ('dns', dns_check, 'dns'),
          ('ping', ping_check, 'ping'), ('ntp', ntp_check, 'ntp'))


def main():
    yield modem.wait_ready(120000)
    print('ready %s' % modem.ip)
    for name, check, cap in CHECKS:
        if cap not in modem.CAPS:
            print('skip %s (no %s on this module)' % (name, cap))
            continue
        try:
            detail = yield check()
            print('ok %s %s' % (name, detail))
        except Exception as e:
            print('FAIL %s %r' % (name, e))
        gc.collect()
    print('heap free %d' % gc.mem_free())
    print('done')


sched.run(main())
