"""One module's script upgrade, the way T-RUN §3.9 recommends it, made safe to run unattended:

1. AT#ESCRIPT? names the running script; the new files go into the other slot (new names);
2. #LSCRIPT checks the space, #WSCRIPT writes, #RSCRIPT reads every file back (SHA-256);
3. AT#ESCRIPT enables the new boot script, AT#REBOOT starts it (§3.9 steps 2 and 3);
4. confirm: the new boot script's state file (<slot>_state.txt, read with #RSCRIPT) says
   "alive <version>" before the deadline, or an MQTT message does (`MqttConfirm`);
5. if not: AT#ESCRIPT back to the previous script and AT#REBOOT, then confirm that one, unless
   the boot script already fell back by itself after repeated crashes (AT#ESCRIPT? shows it).

The module is reached through a `Session`: a serial port (deploy) or TCPATRUN (upgrade), opened
again after every reboot.  Both `modemkit deploy` (Telit) and `modemkit upgrade` run `Upgrade`.
"""

import time
from dataclasses import dataclass, field

from mktools.device.bundle_layout import TelitNames, slot_of
from mktools.device.bundle_graph import SLOTS
from mktools.device.tcpatrun import connect
from mktools.device.wscript import AtLink, DeployError, ScriptStore, SerialTransport, install

POLL_S = 1.0


@dataclass
class State:
    """A boot script's <slot>_state.txt: '<kind> <version> <start number>'."""

    kind: str
    version: str
    start: int

    @classmethod
    def parse(cls, data):
        parts = (data or b'').decode('latin-1').split()
        if len(parts) < 3 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]))


@dataclass
class Result:
    """What happened to one module; `outcome` is one of
    upgraded     the new version runs and was confirmed alive;
    installed    written, verified and enabled, not rebooted (or not confirmed, on request);
    unchanged    stopped before the switch: the previous script is still the enabled one;
    rolled-back  the new version was not confirmed in time; the previous one is enabled again
                 (and confirmed alive when it is a modemkit slot);
    broken       switched, then neither the new version nor the way back could be confirmed."""

    name: str
    outcome: str = 'unchanged'
    from_version: str = ''
    to_version: str = ''
    slot: str = ''
    enabled: str = ''
    reason: str = ''
    crash: str = ''
    seconds: float = 0.0
    bytes: int = 0
    log: list = field(default_factory=list)

    @property
    def ok(self):
        return self.outcome in ('upgraded', 'installed')


class SerialSession:
    """The module's serial port; it stays open across reboots."""

    def __init__(self, url, baud, chunk, chunk_delay, rtscts=False):
        self.link = AtLink(SerialTransport(url, baud, rtscts))
        self.store = ScriptStore(self.link, chunk, chunk_delay, byte_s=baud / 10)

    def open(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.store.setup(2.0)   # after a reboot echo is on again
                return self.store
            except DeployError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def close(self):
        pass

    def shutdown(self):
        self.link.close()


class AtrunSession:
    """A TCPATRUN server-mode session (T-RUN §3.2), logged in again after every reboot."""

    def __init__(self, host, port, user, password, auth='auto', timeout=10.0, chunk=1024,
                 prompt_wait=1.5):
        self.args = (host, port, user, password, auth, timeout)
        self.prompt_wait = prompt_wait
        self.chunk = chunk
        self.link = None

    def open(self, timeout=None):
        self.close()
        host, port, user, password, auth, login_timeout = self.args
        self.link = connect(host, port, user, password, auth, login_timeout, self.prompt_wait)
        return ScriptStore(self.link, self.chunk)

    def close(self):
        if self.link is not None:
            self.link.close()
            self.link = None

    def shutdown(self):
        self.close()


class Upgrade:
    """Steps 1-5 of the module docstring for one module.

    `make_bundle(slot, previous)` builds the Telit bundle for the slot to fill, with a boot
    script that falls back to `previous`; `confirm` is None (state file over the session) or an
    MqttConfirm; `note(text)` reports progress."""

    def __init__(self, name, session, make_bundle, reboot=True, confirm=True, confirm_s=300.0,
                 rollback_s=300.0, poll_s=POLL_S, slot=None, mqtt=None, note=None,
                 progress=None):
        self.session = session
        self.make_bundle = make_bundle
        self.reboot = reboot
        self.confirm = confirm
        self.confirm_s = confirm_s
        self.rollback_s = rollback_s
        self.poll_s = poll_s
        self.slot = slot
        self.mqtt = mqtt
        self.progress = progress
        self.result = Result(name)
        self._note = note

    def note(self, text):
        self.result.log.append(text)
        if self._note:
            self._note(self.result.name, text)

    def run(self):
        r = self.result
        t0 = time.monotonic()
        try:
            self._run()
        except Exception as e:      # one module's trouble must not stop the others' report
            text = str(e) if isinstance(e, DeployError) else f'{type(e).__name__}: {e}'
            r.reason = r.reason or text
            if r.outcome in ('upgraded', 'installed'):
                r.outcome = 'broken'
        finally:
            self.session.shutdown()
            r.seconds = round(time.monotonic() - t0, 2)
        return r

    def _run(self):
        r = self.result
        store = self.session.open()
        previous = store.enabled()
        files, _ = store.listing()
        if previous and previous not in files:
            # AT#ESCRIPT does not check the name (AT ref. guide): nothing to fall back to
            self.note(f'AT#ESCRIPT names "{previous}", which is not on the module')
            previous = ''
        prev_slot = slot_of(previous)
        before = None
        if prev_slot:
            prev_names = TelitNames(prev_slot)
            before = State.parse(store.read_named(prev_names.state, files))
            listing = store.read_named(prev_names.listing, files)
            if listing:
                r.from_version = listing.split(b'\n', 1)[0].decode('latin-1').split()[-1]
            elif before:
                r.from_version = before.version
        elif previous:
            r.from_version = previous
        slot = self.slot or next(s for s in SLOTS if s != prev_slot)
        bundle = self.make_bundle(slot, previous)
        r.to_version, r.slot, r.bytes = bundle.version, slot, bundle.total
        self.note(f'enabled: "{previous}" ({r.from_version or "unknown version"}); '
                  f'installing {bundle.version} into slot {slot}')
        if hasattr(self.progress, 'begin'):
            self.progress.begin(bundle)
        install(store, bundle, self.progress, self.note)
        if self.mqtt is not None:
            self.mqtt.expect(r.name, bundle.version)
        store.enable(bundle.boot)
        r.enabled = bundle.boot
        r.outcome = 'installed'
        self.note(f'AT#ESCRIPT="{bundle.boot}"')
        if not self.reboot:
            return
        store.reboot()
        self.session.close()
        if self.mqtt is not None:
            self.mqtt.arm(r.name)
        if not self.confirm:
            self.note('AT#REBOOT (not waiting for the new version)')
            return
        self.note('AT#REBOOT: waiting for the new version')
        verdict, detail = self._confirm(bundle)
        if verdict == 'alive':
            r.outcome = 'upgraded'
            self.note(f'{bundle.version} is alive ({detail})')
            return
        r.reason = detail
        self._roll_back(bundle, previous, verdict)

    # -- confirmation -----------------------------------------------------------------------

    def _poll(self, deadline, check):
        """Open the session and run check(store) every poll_s until it returns a verdict or
        the deadline passes; connection failures meanwhile are the module restarting."""
        last = 'no answer'
        while True:
            try:
                store = self.session.open()
                verdict = check(store)
                if verdict is not None:
                    return verdict
            except DeployError as e:
                last = str(e)
            finally:
                self.session.close()
            if time.monotonic() >= deadline:
                return 'timeout', last
            time.sleep(self.poll_s)

    def _confirm(self, bundle):
        names = TelitNames(bundle.slot)
        deadline = time.monotonic() + self.confirm_s
        seen = {'state': None}

        def check(store):
            enabled = store.enabled()
            files, _ = store.listing()
            state = State.parse(store.read_named(names.state, files))
            seen['state'] = state
            if names.crash in files:
                self.result.crash = store.read_named(names.crash, files).decode(
                    'latin-1', 'replace').strip()
            if enabled != bundle.boot:
                return 'fell-back', (f'the boot script gave up after repeated crashes and '
                                     f'enabled "{enabled}" again')
            if state and state.kind == 'alive' and state.version == bundle.version:
                if self.mqtt is None:
                    return 'alive', f'{names.state}: alive, start {state.start}'
                if self.mqtt.seen(self.result.name):
                    return 'alive', f'MQTT: {self.mqtt.seen(self.result.name)}'
            return None

        verdict, detail = self._poll(deadline, check)
        if verdict == 'timeout':
            state = seen['state']
            detail = (f'not alive within {self.confirm_s:g} s (state: '
                      f'{f"{state.kind} {state.version}" if state else "none"}; last: {detail})')
        return verdict, detail

    def _roll_back(self, bundle, previous, verdict):
        r = self.result
        prev_slot = slot_of(previous)
        deadline = time.monotonic() + self.rollback_s
        if verdict != 'fell-back':
            self.note(f'rolling back: AT#ESCRIPT="{previous}", AT#REBOOT')

            def switch(store):
                if prev_slot:
                    store.delete(TelitNames(prev_slot).state)   # only a new start may say alive
                store.enable(previous)
                store.reboot()
                return 'switched', ''

            if self._poll(deadline, switch)[0] != 'switched':
                r.outcome = 'broken'
                r.reason += '; could not switch back to the previous script'
                return
        else:
            self.note(r.reason)
        r.enabled = previous
        if not prev_slot:
            r.outcome = 'rolled-back'
            return

        def back(store):
            if store.enabled() != previous:
                return None
            files, _ = store.listing()
            state = State.parse(store.read_named(TelitNames(prev_slot).state, files))
            if state and state.kind == 'alive':
                return 'alive', state.version
            return None

        verdict, detail = self._poll(deadline, back)
        if verdict == 'alive':
            r.outcome = 'rolled-back'
            self.note(f'previous version {detail} is alive again')
        else:
            r.outcome = 'broken'
            r.reason += f'; the previous script did not come back alive ({detail})'
