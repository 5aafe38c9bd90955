"""The Telit Easy Script file store: `#WSCRIPT`, `#ESCRIPT`, `#LSCRIPT`, `#RSCRIPT`, `#DSCRIPT` and
`#REBOOT` (T-RUN §3.9, digest A.8.9).  A mixin of `TelitModem`.

T-RUN shows the commands only through its Telnet screenshots; their syntax and framing come from
the Telit AT Commands Reference Guide (80000ST10025a), which T-RUN §1.3 lists as its companion
and §3.9 defers to ("the same settings described in the Telit Easy Script Python User Guide").
The store lives in NVM: it is flat, names have at most 16 characters and are case sensitive, and
it survives `reboot()`.  Being flat, it has no folders: a name with `/`, `\\`, `..` or NUL is
refused like an empty one (+CME ERROR: 50), so nothing written through it, nor its mirror
directory, lands outside the store.

With config `run_scripts` the enabled script really runs after each start-up: `ScriptRunner`
starts it under Python 2.7 (or CPython 3 without one) through `mdmshim.py` (Telit's MDM, MOD, GPIO... built-ins), in a
directory that mirrors the store, with `MDM` joined to an AT instance of this module, so a
script's commands are parsed like the serial port's and an upgrade can be watched end to end.
What the script writes into its directory shows in the store (#LSCRIPT, #RSCRIPT); what
#WSCRIPT/#DSCRIPT change shows in the directory.
"""

import os
import shutil
from pathlib import Path

from mktools.sim.telit.script_runner import ScriptRunner

NAME_MAX = 16
SCRIPT_CAPACITY = 2_000_000     # bytes; no seed gives the Easy Script NVM size: configurable
WSCRIPT_TIMEOUT_S = 30.0        # data phase; the manuals give no figure: configurable
WSCRIPT_PROMPT = b'\r\n>>>'     # AT ref. guide: the five characters <CR><LF>>>>
RSCRIPT_MARK = b'\r\n<<<'       # AT ref. guide: <CR><LF><<< then the file content
MIRROR_MARK = '.modemkit-script-dir'   # longer than a script name: never taken into the store


def plain_name(name):
    """True for a name the flat store can hold: 1-16 characters, no path in it."""
    return (0 < len(name) <= NAME_MAX and '/' not in name and '\\' not in name
            and '..' not in name and '\0' not in name)


class ScriptStore:
    """The flat, bounded file store of the Easy Script interpreter."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.files = {}             # name -> (content, hidden)
        self.enabled = ''           # #ESCRIPT: run at the next start-up
        self.mirror = None          # the directory a running script sees, if any
        self._seen = {}             # name -> (mtime_ns, size) as last synchronised

    def mirror_to(self, directory):
        """Keep `directory` equal to the store from now on (what a running script sees).
        It must be empty or one this did before (marked): its files are replaced."""
        directory = Path(directory)
        marker = directory / MIRROR_MARK
        if any(directory.iterdir()) and not marker.exists():
            raise ValueError(f'{directory} is not empty and not a script directory of ours')
        marker.touch()
        self.mirror = directory
        for old in self.mirror.iterdir():
            if old.is_file() and old.name != MIRROR_MARK:
                old.unlink()
        self._seen = {}
        for name, (content, _) in self.files.items():
            self._push(name, content)

    def _path(self, name):
        """The mirror file of `name`; a name that is not one plain file name is a bug here."""
        if not plain_name(name):
            raise ValueError(f'not a script name: {name!r}')
        return self.mirror / name

    def _push(self, name, content):
        path = self._path(name)
        path.write_bytes(content)
        st = path.stat()
        self._seen[name] = (st.st_mtime_ns, st.st_size)

    def pull(self):
        """Take in what the script created, changed or removed in the mirror directory."""
        if self.mirror is None:
            return
        now = {}
        for entry in os.scandir(self.mirror):
            if entry.is_file() and plain_name(entry.name):
                st = entry.stat()
                now[entry.name] = (st.st_mtime_ns, st.st_size)
        for name, sig in now.items():
            if self._seen.get(name) != sig:
                try:
                    content = (self.mirror / name).read_bytes()
                except OSError:
                    continue
                hidden = self.files[name][1] if name in self.files else False
                self.files[name] = (content, hidden)
                self._seen[name] = sig
        for name in list(self.files):
            if name not in now:
                del self.files[name]
                self._seen.pop(name, None)

    def used(self):
        return sum(len(content) for content, _ in self.files.values())

    def free(self):
        return self.capacity - self.used()

    def fits(self, name, size):
        """Whether `size` bytes fit, counting the space a file of the same name gives back."""
        old = len(self.files[name][0]) if name in self.files else 0
        return size <= self.free() + old

    def write(self, name, content, hidden):
        self.files[name] = (bytes(content), hidden)
        if self.mirror is not None:
            self._push(name, bytes(content))

    def delete(self, name):
        """Remove `name`; False when there is no such file."""
        if self.files.pop(name, None) is None:
            return False
        if self.mirror is not None:
            self._seen.pop(name, None)
            try:
                self._path(name).unlink()
            except FileNotFoundError:
                pass
        return True

    def read(self, name):
        """The content as #RSCRIPT shows it: empty for a hidden file (AT ref. guide)."""
        content, hidden = self.files[name]
        return b'' if hidden else content

    def enabled_source(self):
        """(name, content) of the enabled script when it exists, else None."""
        if self.enabled in self.files:
            return self.enabled, self.files[self.enabled][0]
        return None


class ScriptStoreMixin:
    """The script-store commands; NVM in `self.nvm['scripts']`."""

    SCRIPT_COMMANDS = {
        '#WSCRIPT': 'at_wscript', '#ESCRIPT': 'at_escript', '#LSCRIPT': 'at_lscript',
        '#RSCRIPT': 'at_rscript', '#DSCRIPT': 'at_dscript', '#REBOOT': 'at_reboot',
    }
    COMMANDS = SCRIPT_COMMANDS

    script_runner = None        # the ScriptRunner of this module (its first port only)

    @property
    def scripts(self):
        store = self.nvm.get('scripts')
        if store is None:
            store = self.nvm['scripts'] = ScriptStore(
                self.config.get('script_capacity', SCRIPT_CAPACITY))
        store.pull()
        return store

    def reset(self):
        # a reboot cuts the script's power first (the store keeps what it had written)
        if self.script_runner is not None:
            self.script_runner.stop('reboot')
            self.script_runner = None
        super().reset()

    def power_on(self):
        super().power_on()
        enabled = self.scripts.enabled_source()
        if enabled is not None:
            self.on_script_start(*enabled)

    def on_script_start(self, name, source):
        """Start-up with an enabled script that exists (T-RUN §3.9 step 3: "Reboot the module
        with AT#REBOOT to start the execution of the new PY script").  Logged; with config
        `run_scripts` the script runs (ScriptRunner)."""
        self.log('script_start', name=name, size=len(source))
        if self.config.get('run_scripts'):
            runner = ScriptRunner(self, name)
            if runner.start():
                self.script_runner = runner

    def close_scripts(self):
        """Stop a running script and drop its directory (the emulator is shutting down)."""
        if self.script_runner is not None:
            self.script_runner.stop('shutdown')
            self.script_runner = None
        store = self.nvm.get('scripts') if self.nvm else None
        if store is not None and store.mirror is not None:
            if not self.config.get('script_dir'):
                shutil.rmtree(store.mirror, ignore_errors=True)
            store.mirror = None

    def _script_name(self, args, i=0):
        """A script name argument: (name, None) or (None, final error text)."""
        name = self.arg_str(args, i)
        if not name:
            return None, self.cme(50)
        if len(name) > NAME_MAX:
            # the manuals do not say which error; the 27.007 text that names the problem
            return None, self.cme('text string too long')
        if not plain_name(name):
            # the flat store has no folders; the manuals name no error for it: as an empty name
            return None, self.cme(50)
        return name, None

    def at_wscript(self, op, args):
        if op == 'test':
            return 'OK'
        if op != 'set':
            return 'ERROR'
        name, error = self._script_name(args)
        if error:
            return error
        size = self.arg_int(args, 1, 1)
        hidden = bool(self.arg_int(args, 2, 0, 1, default=0))
        store = self.scripts
        if not store.fits(name, size):
            # checked before the prompt: the size is known, no byte needs to be sent in vain
            return self.cme('memory full')

        def written(data):
            if data is None:
                # the data phase timed out: nothing is stored (the manuals only say "otherwise
                # an error code is reported")
                self.log('wscript_timeout', name=name, size=size)
                return self.cme('unknown')
            store.write(name, data, hidden)
            self.log('wscript', name=name, size=size, hidden=hidden)
            return 'OK'

        # exactly <size> bytes, any value (T-RUN §3.9 sends a .py file as RAW ASCII)
        return self.prompt(WSCRIPT_PROMPT, written, size=size, ctrl_z=False, esc_cancels=False,
                           timeout_s=self.config.get('wscript_timeout_s', WSCRIPT_TIMEOUT_S))

    def at_escript(self, op, args):
        store = self.scripts
        if op == 'read':
            self.line(f'#ESCRIPT: "{store.enabled}"')
            return 'OK'
        if op == 'test':
            return 'OK'
        if op != 'set':
            return 'ERROR'
        if not args or not args[0]:
            store.enabled = ''
            return 'OK'
        name, error = self._script_name(args)
        if error:
            return error
        # AT ref. guide: "the command does not check whether a textual script named
        # <script_name> does exist or not"
        store.enabled = name
        return 'OK'

    def at_lscript(self, op, args):
        if op == 'test':
            return 'OK'
        if op != 'exec':
            return 'ERROR'
        store = self.scripts
        for name, (content, _) in store.files.items():
            self.line(f'#LSCRIPT: "{name}",{len(content)}')
        self.line(f'#LSCRIPT: free bytes: {store.free()}')
        return 'OK'

    def at_rscript(self, op, args):
        if op == 'test':
            return 'OK'
        if op != 'set':
            return 'ERROR'
        name, error = self._script_name(args)
        if error:
            return error
        if name not in self.scripts.files:
            return self.cme('not found')
        self.send(RSCRIPT_MARK + self.scripts.read(name))
        return 'OK'

    def at_dscript(self, op, args):
        if op == 'test':
            return 'OK'
        if op != 'set':
            return 'ERROR'
        name, error = self._script_name(args)
        if error:
            return error
        if not self.scripts.delete(name):
            return self.cme('not found')
        return 'OK'

    def at_reboot(self, op, args):
        if op == 'test':
            return 'OK'
        if op != 'exec':
            return 'ERROR'
        # OK goes out, then the unit reboots at once; the module-wide reboot runs on the first
        # port's timers so that nothing queued after it (an ATRUN answer SMS: T-RUN §2.5.2
        # note 2) survives it
        primary = self.module.ports[0]
        primary.later(0, primary.reboot)
        return 'OK'

