"""A Telit module's script store driven from the host: AT#WSCRIPT, #RSCRIPT, #LSCRIPT,
#DSCRIPT, #ESCRIPT and #REBOOT over any byte stream, a serial port (`modemkit deploy`) or a
logged-in TCPATRUN connection (`modemkit upgrade`, T-RUN §3.9).

Framing, as T-RUN §3.9 shows it and the AT Commands Reference Guide (80000ST10025a, which T-RUN
§1.3 names) specifies it:
  AT#WSCRIPT="<name>",<size>   -> <CR><LF>>>>  then exactly <size> bytes      -> OK
  AT#RSCRIPT="<name>"          -> <CR><LF><<<  then the file's bytes          -> OK
  AT#LSCRIPT                   -> #LSCRIPT: "<name>",<size> ... #LSCRIPT: free bytes: <n> -> OK
  AT#ESCRIPT="<name>" / AT#ESCRIPT?  -> #ESCRIPT: "<name>"
`install()` is the part deploy and upgrade share: check the space, write a bundle's slot, read
every file back and compare its SHA-256, all before anything is enabled.
"""

import hashlib
import re
import select
import time

from mktools import CommandError
from mktools.device.bundle_layout import FAILED_FILE, TelitNames

FINAL_ERRORS = ('ERROR', '+CME ERROR:', '+CMS ERROR:')
LSCRIPT_FILE = re.compile(r'#LSCRIPT:\s*"([^"]*)",\s*(\d+)')
LSCRIPT_FREE = re.compile(r'#LSCRIPT:\s*free bytes:\s*(-?\d+)')
ESCRIPT = re.compile(r'#ESCRIPT:\s*"?([^"]*)"?')


class DeployError(CommandError):
    """A deploy or upgrade step failed; `file` names the file it was about, if any."""

    def __init__(self, message, file=None):
        super().__init__(message)
        self.file = file

    def __str__(self):
        text = super().__str__()
        return f'{self.file}: {text}' if self.file else text


class LinkClosed(DeployError):
    """The serial port or the TCPATRUN connection went away."""


class AtTimeout(DeployError):
    """No final result code in time."""


class AtFailed(DeployError):
    """The module answered ERROR or +CME ERROR."""

    def __init__(self, command, result, file=None):
        super().__init__(f'{command} -> {result}', file)
        self.result = result


class NoSpace(DeployError):
    """The script store cannot hold the bundle."""


class VerifyFailed(DeployError):
    """A file read back with #RSCRIPT differs from what was written."""


# -- byte streams -------------------------------------------------------------------------------

class SerialTransport:
    """A pyserial port: a device path, a pty, or any pyserial URL (socket://127.0.0.1:N)."""

    def __init__(self, url, baudrate=115200, rtscts=False):
        import serial
        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=0,
                                              rtscts=rtscts)
        except (serial.SerialException, OSError, ValueError) as e:
            raise LinkClosed(f'cannot open {url}: {e}') from None
        self.name = url

    def write(self, data):
        try:
            self.port.write(data)
            self.port.flush()
        except Exception as e:
            raise LinkClosed(f'{self.name}: write failed: {e}') from None

    def read(self, timeout):
        self.port.timeout = max(timeout, 0)
        try:
            first = self.port.read(1)
            waiting = self.port.in_waiting if first else 0
            return first + (self.port.read(waiting) if waiting else b'')
        except Exception as e:
            raise LinkClosed(f'{self.name}: read failed: {e}') from None

    def close(self):
        self.port.close()


class SocketTransport:
    """A connected TCP socket (a TCPATRUN session)."""

    def __init__(self, sock, name):
        self.sock = sock
        self.sock.setblocking(False)
        self.name = name

    def write(self, data):
        view = memoryview(data)
        while view:
            try:
                view = view[self.sock.send(view):]
            except BlockingIOError:
                if not select.select([], [self.sock], [], 30)[1]:
                    raise LinkClosed(f'{self.name}: the module stopped taking data') from None
            except OSError as e:
                raise LinkClosed(f'{self.name}: connection lost ({e.strerror})') from None

    def read(self, timeout):
        if not select.select([self.sock], [], [], max(timeout, 0))[0]:
            return b''
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return b''
        except OSError as e:
            raise LinkClosed(f'{self.name}: connection lost ({e.strerror})') from None
        if not data:
            raise LinkClosed(f'{self.name}: the module closed the connection')
        return data

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# -- the AT exchange ----------------------------------------------------------------------------

class AtLink:
    """Commands and their final result codes on a transport; echo and stray URCs are skipped."""

    def __init__(self, transport):
        self.t = transport
        self.buf = bytearray()

    def close(self):
        self.t.close()

    def write(self, data):
        self.t.write(data)

    def fill(self, deadline):
        """Read what comes within half a second into `buf`; False once `deadline` passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        data = self.t.read(min(left, 0.5))
        self.buf += data
        return True

    def discard(self):
        """Drop whatever arrived before the next command (a late answer, a URC)."""
        self.buf.clear()
        while self.t.read(0):
            pass

    def _line(self):
        """The next complete line (without terminators) from the buffer, or None."""
        while True:
            m = re.search(rb'[\r\n]', self.buf)
            if m is None:
                return None
            line = bytes(self.buf[:m.start()])
            del self.buf[:m.end()]
            if line.strip():
                return line.decode('latin-1').strip()

    def final(self, command, deadline, prefix=None, file=None):
        """The lines up to `command`'s final result code: OK returns them (those starting
        with `prefix`), ERROR/+CME ERROR raises AtFailed, the deadline AtTimeout."""
        lines = []
        echo = command.strip().upper()
        while True:
            line = self._line()
            if line is None:
                if not self.fill(deadline):
                    raise AtTimeout(f'{command}: no answer in time', file)
                continue
            if line == 'OK':
                return lines
            if line.startswith(FINAL_ERRORS):
                raise AtFailed(command, line, file)
            if line.upper() == echo:
                continue
            if prefix is None or line.startswith(prefix):
                lines.append(line)

    def command(self, command, timeout=10.0, prefix=None, file=None):
        """Send `command`, wait for OK; returns its lines (those starting with `prefix`)."""
        self.discard()
        self.write(command.encode('latin-1') + b'\r')
        return self.final(command, time.monotonic() + timeout, prefix, file)

    def until(self, token, command, deadline, file=None):
        """Wait for `token` (a prompt or a marker); a final error before it raises."""
        while True:
            at = self.buf.find(token)
            if at >= 0:
                del self.buf[:at + len(token)]
                return
            for line in re.split(rb'[\r\n]+', bytes(self.buf))[:-1]:     # complete lines
                text = line.decode('latin-1').strip()
                if text.startswith(FINAL_ERRORS):
                    self.buf.clear()
                    raise AtFailed(command, text, file)
            if not self.fill(deadline):
                raise AtTimeout(f'{command}: no {token.decode()!r} in time', file)

    def exact(self, size, command, deadline, file=None):
        while len(self.buf) < size:
            if not self.fill(deadline):
                raise AtTimeout(f'{command}: {len(self.buf)} of {size} bytes in time', file)
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data


# -- the script store ---------------------------------------------------------------------------

NAME_MAX = 16                   # the module's flat store (T-RUN 3.9, AT#WSCRIPT <name>)


def plain(name):
    """`name` if the module's flat store can hold it; DeployError for a path ('/', '..'), more
    than 16 characters, or a quote or control character (it would end the command's string and
    run what follows as AT commands)."""
    if not (0 < len(name) <= NAME_MAX and re.fullmatch(r'[A-Za-z0-9_.-]+', name)
            and '..' not in name):
        raise DeployError(f'{name!r}: not a script name (1-16 letters, digits and ._-, no path)')
    return name


class ScriptStore:
    """The script commands on an AtLink.  `chunk`/`chunk_delay` pace #WSCRIPT data for a
    module without flow control; `progress(name, done, size)` follows each transfer."""

    def __init__(self, link, chunk=1024, chunk_delay=0.0, byte_s=None):
        self.link = link
        self.chunk = chunk
        self.chunk_delay = chunk_delay
        self.byte_s = byte_s        # expected line rate, to size the transfer timeouts

    def _transfer_s(self, size):
        rate = self.byte_s or 2000.0
        return 15.0 + 2.0 * size / rate + size / self.chunk * self.chunk_delay

    def setup(self, timeout=10.0):
        """Echo off, verbose errors: what every later answer is parsed with."""
        self.link.command('ATE0', timeout)
        self.link.command('AT+CMEE=2', timeout)

    def listing(self):
        """({name: size}, free bytes) from #LSCRIPT."""
        files, free = {}, None
        for line in self.link.command('AT#LSCRIPT', 15, '#LSCRIPT:'):
            m = LSCRIPT_FILE.match(line)
            if m:
                files[m.group(1)] = int(m.group(2))
                continue
            m = LSCRIPT_FREE.match(line)
            if m:
                free = int(m.group(1))
        if free is None:
            raise DeployError('#LSCRIPT did not report the free space')
        return files, free

    def enabled(self):
        for line in self.link.command('AT#ESCRIPT?', 5, '#ESCRIPT:'):
            m = ESCRIPT.match(line)
            if m:
                return m.group(1).strip()
        return ''

    def write(self, name, data, progress=None):
        plain(name)
        cmd = f'AT#WSCRIPT="{name}",{len(data)}'
        link = self.link
        link.discard()
        link.write(cmd.encode() + b'\r')
        link.until(b'>>>', cmd, time.monotonic() + 10, name)
        deadline = time.monotonic() + self._transfer_s(len(data))
        if progress:
            progress(name, 0, len(data))
        for i in range(0, len(data), self.chunk):
            link.write(data[i:i + self.chunk])
            if progress:
                progress(name, min(i + self.chunk, len(data)), len(data))
            if self.chunk_delay and i + self.chunk < len(data):
                time.sleep(self.chunk_delay)
        link.final(cmd, deadline, file=name)

    def read(self, name, size):
        """The content of `name` (`size` bytes as #LSCRIPT gives it) via #RSCRIPT."""
        plain(name)
        cmd = f'AT#RSCRIPT="{name}"'
        link = self.link
        link.discard()
        link.write(cmd.encode() + b'\r')
        deadline = time.monotonic() + self._transfer_s(size)
        link.until(b'<<<', cmd, deadline, name)
        data = link.exact(size, cmd, deadline, name)
        link.final(cmd, deadline, file=name)
        return data

    def read_named(self, name, files=None):
        """The content of `name`, or None when the store has no such file."""
        files = self.listing()[0] if files is None else files
        return self.read(name, files[name]) if name in files else None

    def delete(self, name):
        try:
            self.link.command(f'AT#DSCRIPT="{name}"', 10, file=name)
        except AtFailed as e:
            if 'not found' not in e.result:
                raise

    def enable(self, name):
        """AT#ESCRIPT, checked by reading it back."""
        plain(name)
        self.link.command(f'AT#ESCRIPT="{name}"', 5, file=name)
        now = self.enabled()
        if now != name:
            raise DeployError(f'AT#ESCRIPT? says "{now}" after enabling it', name)

    def reboot(self):
        """AT#REBOOT: OK, or the link closing under it, both mean it is restarting."""
        try:
            self.link.command('AT#REBOOT', 10)
        except (LinkClosed, AtTimeout):
            pass


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def install(store, bundle, progress=None, note=print):
    """Write `bundle` into its slot and read every file back (T-RUN §3.9 step 1, checked).

    Nothing enabled changes here: the slot being filled must not be the one AT#ESCRIPT names.
    Order: #LSCRIPT (space, stale files of the slot), #DSCRIPT of the stale files, #WSCRIPT of
    each file (the boot script last), #RSCRIPT of each file against its SHA-256."""
    names = TelitNames(bundle.slot)
    enabled = store.enabled()
    if names.owns(enabled):
        raise DeployError(f'slot {bundle.slot} holds the enabled script {enabled}; write the '
                          'other slot')
    files, free = store.listing()
    stale = sorted(n for n in files if names.owns(n))
    reclaim = sum(files[n] for n in stale)
    if bundle.total > free + reclaim:
        raise NoSpace(f'the bundle needs {bundle.total} bytes; the module has {free} free '
                      f'(+{reclaim} in old slot-{bundle.slot} files)')
    for name in stale:
        store.delete(name)
    if FAILED_FILE in files and store.read(FAILED_FILE, files[FAILED_FILE]).strip() == \
            bundle.slot.encode():
        store.delete(FAILED_FILE)       # this slot is fresh: it may be fallen back into again
    note(f'writing {len(bundle.files)} files, {bundle.total} bytes, into slot {bundle.slot} '
         f'({len(stale)} old files removed, {free + reclaim} bytes free)')
    order = [f for f in bundle.files if f.role != 'switch'] + \
            [f for f in bundle.files if f.role == 'switch']
    for f in order:
        store.write(f.name, f.data, progress)
    for f in order:
        got = store.read(f.name, f.size)
        if got != f.data:
            raise VerifyFailed(f'read back differs: sha256 {sha256(got)[:16]}..., wrote '
                               f'{f.sha256[:16]}... ({len(got)} of {f.size} bytes)', f.name)
    note(f'verified {len(order)} files by #RSCRIPT (SHA-256)')
