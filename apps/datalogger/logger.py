"""The data logger: an MCU beside a cellular module samples sensors at a fixed rate into files
on flash and uploads the finished files by FTP in the background.

Files: <dir>/<first seq, 8 digits>.csv, one record a line:
    <seq>,<ms since start>,<sensor value>,...*<CRC-32 of the text before '*', 8 hex digits>
A file is finished when the next record would pass `file_bytes`; then the next one starts.
The files together stay within `flash_bytes`: when a record would pass it, the oldest finished
file that is not being uploaded is deleted (its records are counted in `dropped`); if there is
none, the record itself is dropped. Sequence numbers go on across restarts (the newest file's
last good record), and every file present at start-up counts as finished.

The uploader sends the oldest finished file with ftp.put(), resuming from what the server
already holds (a transfer broken by an outage or a reset goes on from its offset), and deletes
the file only once put() has verified the server's copy. Every fourth try in a row starts over
from byte 0, in case the server holds something that is not a prefix of the file. Sampling never
waits for the network: it only appends to the current file, which the uploader never touches;
a deadline missed all the same (the scheduler is cooperative) is counted in `missed`.

With an "mqtt" section in the board config, the state is published (retained, QoS 0) on
<prefix>/<device>/datalogger every `report_ms` and after each upload:
    {"seq":N,"files":F,"flash":B,"up":U,"fail":E,"missed":M,"dropped":D}
"""
import os

from modemkit import ftp
from modemkit.port import ticks_add, ticks_diff
from modemkit.sched import Event, Return


def record(seq, t, values):
    """One record line (bytes) for `values` sampled at t ms."""
    text = '%d,%d' % (seq, t) + ''.join([',%.3f' % v for v in values])
    return ('%s*%08x\n' % (text, ftp.crc32(text.encode()) & 0xffffffff)).encode()


def parse(line):
    """(seq, t, values) of a record line (bytes, without its newline), or None if it is torn
    or its checksum fails."""
    star = line.rfind(b'*')
    if star < 0 or len(line) - star != 9:
        return None
    try:
        if int(line[star + 1:], 16) != ftp.crc32(line[:star]) & 0xffffffff:
            return None
        f = line[:star].split(b',')
        return int(f[0]), int(f[1]), [float(x) for x in f[2:]]
    except ValueError:
        return None


class DataLogger(object):
    def __init__(self, sched, modem, cfg, sensors, log=None):
        self.sched = sched
        self.modem = modem
        self.log = log if log is not None else modem.log
        d = cfg.get('datalogger', {})
        self.period = d.get('period_ms', 1000)
        self.dir = d.get('dir', 'log')
        self.file_bytes = d.get('file_bytes', 4096)
        self.flash_bytes = d.get('flash_bytes', 65536)
        self.retry_ms = d.get('retry_ms', 10000)
        self.report_ms = d.get('report_ms', 60000)
        self.limit = d.get('count', 0)        # stop after this many samples (0: never)
        self.sensors = sensors
        f = cfg['ftp']
        self.remote = f.get('dir', '')        # prefix of the names on the server
        self.ftp = ftp.client(modem, f, bytearray(d.get('buf', 1024)))
        self.finished = Event(sched)          # a file was finished
        self.cur = None                       # the file being written
        self.cur_size = 0
        self.busy = None                      # the file being uploaded
        self.seq = 1
        self.t = 0                            # ms since start, without ticks' wrap
        self.flash = 0                        # bytes in all files
        self.flash_max = 0
        self.sampled = 0
        self.missed = 0                       # sampling deadlines missed
        self.dropped = 0                      # records lost to the flash bound
        self.uploaded = 0                     # files uploaded and verified
        self.failures = 0                     # upload tries that failed
        self.mqtt = None
        mq = cfg.get('mqtt')
        if mq:
            from modemkit.mqtt import MQTT
            self.topic = ('%s/%s/datalogger' % (mq.get('prefix', 'modemkit'),
                                                 mq['device'])).encode()
            self.mqtt = MQTT(modem, mq['host'], mq.get('port', 1883), client_id=mq['device'],
                             keepalive=mq.get('keepalive', 60), max_packet=mq.get('max_packet', 256),
                             window=1, log=self.log)
        self._scan()

    # -- files -----------------------------------------------------------------------------
    def _path(self, name):
        return self.dir + '/' + name

    def _files(self):
        names = [n for n in os.listdir(self.dir) if n.endswith('.csv')]
        names.sort()
        return names

    def _scan(self):
        try:
            os.mkdir(self.dir)
        except OSError:
            pass
        names = self._files()
        for n in names:
            self.flash += os.stat(self._path(n))[6]
        if names:
            with open(self._path(names[-1]), 'rb') as f:
                for line in f:
                    r = parse(line.rstrip(b'\n'))
                    if r is not None:
                        self.seq = r[0] + 1

    def _oldest(self):
        for n in self._files():
            if n != self.cur and n != self.busy:
                return n
        return None

    def _remove(self, name):
        path = self._path(name)
        self.flash -= os.stat(path)[6]
        os.remove(path)

    # -- sampling --------------------------------------------------------------------------
    def _sampler(self):
        clock = self.sched.clock
        due = last = clock.ticks_ms()
        while not self.limit or self.sampled < self.limit:
            now = clock.ticks_ms()
            self.t += ticks_diff(now, last)
            last = now
            self._write(record(self.seq, self.t, [s.read() for n, s in self.sensors]))
            due = ticks_add(due, self.period)
            late = ticks_diff(clock.ticks_ms(), due)
            if late > 0:
                # network work held us past the next deadline: count it, keep the cadence
                k = late // self.period + 1
                self.missed += k
                due = ticks_add(due, k * self.period)
            yield self.sched.sleep_ms(ticks_diff(due, clock.ticks_ms()))
        self._finish()

    def _write(self, line):
        n = len(line)
        self.sampled += 1
        if self.cur is not None and self.cur_size + n > self.file_bytes:
            self._finish()
        while self.flash + n > self.flash_bytes:
            old = self._oldest()
            if old is None:
                self.dropped += 1
                return
            with open(self._path(old), 'rb') as f:
                for _ in f:
                    self.dropped += 1
            self._remove(old)
            self.log('datalogger: flash full, dropped %s' % old)
        if self.cur is None:
            self.cur = '%08d.csv' % self.seq
            self.cur_size = 0
        with open(self._path(self.cur), 'ab') as f:
            f.write(line)
        self.seq += 1
        self.cur_size += n
        self.flash += n
        if self.flash > self.flash_max:
            self.flash_max = self.flash

    def _finish(self):
        if self.cur is not None:
            self.cur = None
            self.finished.set()

    # -- uploading -------------------------------------------------------------------------
    def _uploader(self):
        tries = 0
        while True:
            name = self._oldest()
            if name is None:
                yield self.ftp.close()
                if self.limit and self.sampled >= self.limit and self.cur is None:
                    raise Return()
                self.finished.clear()
                yield self.finished.wait()
                continue
            yield self.modem.wait_ready()
            self.busy = name
            try:
                with open(self._path(name), 'rb') as src:
                    yield self.ftp.put(self.remote + name, src, 0 if tries % 4 == 3 else None)
                self._remove(name)
                self.uploaded += 1
                tries = 0
                self._report()
            except Exception as e:
                tries += 1
                self.failures += 1
                self.log('datalogger: upload of %s failed: %r' % (name, e))
                yield self.sched.sleep_ms(min(self.retry_ms * tries, 20 * self.retry_ms))
            finally:
                self.busy = None

    # -- reporting -------------------------------------------------------------------------
    def state(self):
        return ('{"seq":%d,"files":%d,"flash":%d,"up":%d,"fail":%d,"missed":%d,"dropped":%d}'
                % (self.seq - 1, len(self._files()), self.flash, self.uploaded, self.failures,
                   self.missed, self.dropped))

    def _report(self):
        if self.mqtt is not None:
            self.mqtt.publish_nowait(self.topic, self.state().encode(), 0, True)

    def _reporter(self):
        while True:
            self._report()
            yield self.sched.sleep_ms(self.report_ms)

    def run(self):
        """Sample (and upload) until `count` samples are taken and uploaded, or for ever."""
        s = self.sched
        self.modem.start()
        if self.mqtt is not None:
            self.mqtt.start()
            s.spawn(self._reporter(), 'report')
        s.spawn(self._sampler(), 'sampler')
        yield s.spawn(self._uploader(), 'upload', depth=ftp.DEPTH).join()
        if self.mqtt is not None:
            # the last word waits for the broker's PUBACK: a QoS 0 report queued now would be
            # lost with the scheduler that stops when this returns
            yield self.mqtt.publish(self.topic, self.state().encode(), 1, True, 30000)
        raise Return(self.state())
