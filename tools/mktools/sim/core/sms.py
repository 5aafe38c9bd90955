"""SMS per 3GPP TS 27.005 (text and PDU mode), shared by every dialect: a mixin of `Modem`.

Commands: +CMGF, +CSCS, +CSCA, +CSMP, +CSDH, +CNMI, +CPMS, +CMGS and +CMGW (the `> ` prompt,
Ctrl-Z sends, ESC cancels), +CMSS (send from the store), +CMGR, +CMGL, +CMGD; `+CMTI: "SM",<index>` on arrival; +CMS ERROR
codes (s3.2.5) shown as +CMEE asks.  In text mode "GSM" and "IRA" text travels as Latin-1
bytes on the line (modules differ in how they map "GSM"; the manuals here show ASCII only) and
"UCS2" as hex.  The store is the SIM's ("SM" only, `sms_slots` slots from
index 1, as T-RUN s2.3/s2.4 number them); it survives a reboot. A message arriving while it is
full is not stored and gets no +CMTI: it waits at the service centre until a slot frees, then
comes as any other (23.040 s3.3.2: the network keeps it and retries once the mobile says it has
memory again) [INFERRED: neither the seeds nor 27.005 show an indication for a full store; the
+CMS ERROR: 322 "memory full" of s3.2.5 is the answer to a command that stores, +CMGW].  The manuals in ../seeds/ show +CMTI with no AT+CNMI beforehand (T-RUN s2.3), so
`cnmi` defaults to 2,1.

Tests and the CLI deliver with `deliver_sms()` / `deliver_pdu()` and read what the module sent
in `sms_out`; a dialect may consume a message first (`sms_intercept()`, Telit SMSATRUN).
Config: `sms_echo` (a number whose SMS come back to the module as received SMS: a loopback for
round trips), `sms_log` (a file that gets each sent SMS as a JSON line), `smsc`, `sms_slots`,
`cnmi`, `sms_send_s` (network time of one AT+CMGS).
"""

import json
import time
from collections import deque

from modemkit import gsm7, smspdu

__all__ = ['SmsCommands', 'CMS_ERRORS']

# 27.005 s3.2.5
CMS_ERRORS = {
    300: 'ME failure', 301: 'SMS service of ME reserved', 302: 'operation not allowed',
    303: 'operation not supported', 304: 'invalid PDU mode parameter',
    305: 'invalid text mode parameter', 310: 'SIM not inserted', 311: 'SIM PIN required',
    313: 'SIM failure', 314: 'SIM busy', 320: 'memory failure', 321: 'invalid memory index',
    322: 'memory full', 330: 'SMSC address unknown', 331: 'no network service',
    332: 'network timeout', 500: 'unknown error',
}
STATS = ('REC UNREAD', 'REC READ', 'STO UNSENT', 'STO SENT', 'ALL')
SMS_OUT_MAX = 256
PENDING_MAX = 32                # messages waiting at the service centre for a free slot
CTRL_Z = b'\x1a'


class SmsStore:
    """The SIM's message store, shared by the AT instances of a module; its first port gets the
    +CMTI URCs."""

    def __init__(self, owner, slots):
        self.owner = owner
        self.slots = [None] * slots     # {'stat': 0-3, 'pdu': bytearray}
        self.pending = deque()
        self.mr = 0

    def free_index(self):
        for i, slot in enumerate(self.slots):
            if slot is None:
                return i + 1
        return None

    def used(self):
        return sum(1 for s in self.slots if s is not None)


class SmsCommands:
    """27.005 commands; state: `sms_store` (module-wide), per-port `cmgf`, `cscs`, `cnmi`..."""

    COMMANDS = {
        '+CMGF': 'at_cmgf', '+CSCS': 'at_cscs', '+CSCA': 'at_csca', '+CSMP': 'at_csmp',
        '+CSDH': 'at_csdh', '+CNMI': 'at_cnmi', '+CPMS': 'at_cpms', '+CMGS': 'at_cmgs',
        '+CMGW': 'at_cmgw', '+CMSS': 'at_cmss', '+CMGR': 'at_cmgr', '+CMGL': 'at_cmgl', '+CMGD': 'at_cmgd',
    }
    SMS_DEFAULTS = {'smsc': '+393492000200', 'sms_slots': 20, 'cnmi': (2, 1, 0, 0, 0),
                    'sms_echo': None, 'sms_send_s': 0.05}
    _sms_store = None
    sms_out = None

    def sms_config(self, key):
        return self.config.get(key, self.SMS_DEFAULTS[key])

    @property
    def sms_store(self):
        if self._sms_store is None:
            self._sms_store = SmsStore(self, self.sms_config('sms_slots'))
        return self._sms_store

    @sms_store.setter
    def sms_store(self, store):
        self._sms_store = store

    def reset_sms(self):
        """Power-on SMS settings of this port (the store is the SIM's and survives)."""
        if self.sms_out is None:
            self.sms_out = deque(maxlen=SMS_OUT_MAX)
        self.cmgf = 0
        self.cscs = 'GSM'
        self.csmp = [17, 167, 0, 0]
        self.csdh = 0
        self.cnmi = list(self.sms_config('cnmi'))
        self.sms_held = deque(maxlen=16)        # +CNMI mode 0: indications kept in the TA
        self.csca = self.sms_config('smsc')

    def cms(self, code):
        """The final result for a 27.005 error, as +CMEE asks."""
        if self.cmee == 0:
            return 'ERROR'
        return f'+CMS ERROR: {code if self.cmee == 1 else CMS_ERRORS.get(code, "unknown error")}'

    # -- delivery (tests, CLI) --------------------------------------------------------------

    def deliver_sms(self, sender, text=None, data=None, dcs=None, timestamp=None, intercept=True):
        """An SMS from `sender` reaches the module: `text` in the GSM 7-bit alphabet when it
        can be, else UCS-2, in concatenated parts when long; or 8-bit `data` (DCS 0x04).
        Returns the store index of each part (None for one consumed by the module itself or
        waiting for room); `intercept=False` skips `sms_intercept()`."""
        if data is not None:
            alpha, body = smspdu.DATA8, bytes(data)
        else:
            alpha, body = smspdu.text_body(text)
        dcs = smspdu.DCS[alpha] if dcs is None else dcs
        parts = smspdu.split(body, alpha)
        store = self.sms_store
        store.mr = (store.mr + 1) & 0xFF
        out = []
        for seq, part in enumerate(parts, 1):
            udh = smspdu.concat_header(store.mr, len(parts), seq) if len(parts) > 1 else None
            ud, udl = smspdu.user_data(part, alpha, udh)
            pdu = smspdu.deliver(sender, ud, udl, timestamp or self._sms_now(), dcs,
                                 udhi=udh is not None, smsc=self.csca)
            out.append(self.deliver_pdu(pdu, intercept))
        return out

    @staticmethod
    def _sms_now():
        t = time.gmtime()
        return (t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0)

    def deliver_pdu(self, pdu, intercept=True):
        """A received SMS-DELIVER (bytes with the SMSC field): stored with +CMTI, unless the
        dialect consumes it (`sms_intercept`).  Returns its index or None."""
        pdu = bytearray(pdu)
        parsed = smspdu.parse(pdu)
        if intercept and self.sms_intercept(parsed):
            return None
        store = self.sms_store
        index = store.free_index()
        if index is None:
            if len(store.pending) < PENDING_MAX:
                store.pending.append(pdu)
                self.log('sms_store_full', waiting=len(store.pending))
            else:
                self.log('sms_lost', sender=parsed.number)
            return None
        store.slots[index - 1] = {'stat': 0, 'pdu': pdu}
        self.log('sms_stored', index=index, sender=parsed.number, dcs=parsed.dcs)
        store.owner.sms_indication(index)
        return index

    def sms_intercept(self, pdu):
        """True when the module itself takes the message (dialects override)."""
        return False

    def sms_indication(self, index):
        """+CMTI per +CNMI <mode>,<mt> (27.005 s3.4.1)."""
        mode, mt = self.cnmi[0], self.cnmi[1]
        if mt != 1:
            return
        text = f'+CMTI: "SM",{index}'
        if mode == 0:
            self.sms_held.append(text)
        elif mode == 1 and self.mode != 'command':
            self.log('cmti_discarded', index=index)     # mode 1: discarded while reserved
        else:
            self.urc(text)

    def _sms_freed(self):
        store = self.sms_store
        while store.pending and store.free_index() is not None:
            self.deliver_pdu(store.pending.popleft())

    # -- settings ---------------------------------------------------------------------------

    def _sms_setting(self, op, args, name, value, test, parse):
        if op == 'read':
            self.line(f'{name}: {value}')
        elif op == 'test':
            self.line(f'{name}: {test}')
        elif op == 'set':
            return parse(args)
        else:
            return 'ERROR'
        return 'OK'

    def at_cmgf(self, op, args):
        def parse(args):
            self.cmgf = self.arg_int(args, 0, 0, 1, default=0)
            return 'OK'
        return self._sms_setting(op, args, '+CMGF', self.cmgf, '(0-1)', parse)

    def at_cscs(self, op, args):
        def parse(args):
            name = self.arg_str(args, 0, 8).upper()
            if name not in ('GSM', 'IRA', 'UCS2'):
                return self.cme(4)
            self.cscs = name
            return 'OK'
        return self._sms_setting(op, args, '+CSCS', f'"{self.cscs}"', '("GSM","IRA","UCS2")',
                                 parse)

    def at_csca(self, op, args):
        def parse(args):
            number = self.arg_str(args, 0, 21)
            if not number.lstrip('+').isdigit():
                return self.cms(304 if self.cmgf == 0 else 305)
            self.csca = number
            return 'OK'
        toa = 145 if self.csca.startswith('+') else 129
        return self._sms_setting(op, args, '+CSCA', f'"{self.csca}",{toa}', '', parse)

    def at_csmp(self, op, args):
        def parse(args):
            for i, hi in enumerate((255, 255, 255, 255)):
                self.csmp[i] = self.arg_int(args, i, 0, hi, default=self.csmp[i])
            try:
                smspdu.alphabet(self.csmp[3])
            except ValueError:
                return self.cms(305)
            return 'OK'
        return self._sms_setting(op, args, '+CSMP', ','.join(map(str, self.csmp)), '', parse)

    def at_csdh(self, op, args):
        def parse(args):
            self.csdh = self.arg_int(args, 0, 0, 1, default=0)
            return 'OK'
        return self._sms_setting(op, args, '+CSDH', self.csdh, '(0,1)', parse)

    def at_cnmi(self, op, args):
        def parse(args):
            values = [self.arg_int(args, i, 0, 3, default=self.cnmi[i]) for i in range(5)]
            if values[0] > 2 or values[1] > 1 or values[2] or values[3] or values[4] > 1:
                return self.cms(303)        # +CMT routing, cell broadcast, status reports
            self.cnmi = values
            if values[0] and values[1]:
                held, self.sms_held = list(self.sms_held), deque(maxlen=16)

                def flush():
                    for text in held:
                        self.urc(text)
                if not values[4]:           # <bfr> 0: flush the indications kept in the TA
                    self._after_line(flush)
            return 'OK'
        return self._sms_setting(op, args, '+CNMI', ','.join(map(str, self.cnmi)),
                                 '(0-2),(0,1),(0),(0),(0,1)', parse)

    def at_cpms(self, op, args):
        store = self.sms_store
        used, total = store.used(), len(store.slots)
        if op == 'read':
            self.line(f'+CPMS: ' + ','.join([f'"SM",{used},{total}'] * 3))
        elif op == 'test':
            self.line('+CPMS: ("SM"),("SM"),("SM")')
        elif op == 'set':
            if any(a is not None and a.upper() != 'SM' for a in args[:3]) or not args:
                return self.cms(302)
            self.line('+CPMS: ' + ','.join([f'{used},{total}'] * 3))
        else:
            return 'ERROR'
        return 'OK'

    # -- sending ----------------------------------------------------------------------------

    def at_cmgs(self, op, args):
        return self._sms_submit(op, args, send=True)

    def at_cmgw(self, op, args):
        return self._sms_submit(op, args, send=False)

    def _sms_submit(self, op, args, send):
        if op == 'test':
            return 'OK'
        if op != 'set':
            return 'ERROR'
        if self.cmgf == 0:
            length = self.arg_int(args, 0, 7, 164)
            header = None
        else:
            length = None
            header = (self.arg_str(args, 0, 24), self.arg_int(args, 1, 0, 255, default=145))
        if not send and self.sms_store.free_index() is None:
            return self.cms(322)
        return self.prompt(b'\r\n> ', lambda data: self._sms_body(data, length, header, send))

    def _sms_body(self, data, length, header, send):
        if data is None:
            return 'OK'             # ESC: nothing sent (27.005 s3.5.1)
        try:
            if length is not None:
                pdu = smspdu.from_hex(data.decode('latin-1').strip())
                parsed = smspdu.parse(pdu)
                if parsed.kind != smspdu.SUBMIT or smspdu.tpdu_length(pdu) != length:
                    # the T-RUN s2.3 example's AT+CMGS=53 for a 52-octet TPDU lands here
                    raise ValueError('length or type')
            else:
                pdu = self._text_submit(header[0], data)
                parsed = smspdu.parse(pdu)
        except (ValueError, UnicodeError) as e:
            self.log('sms_refused', why=str(e))
            return self.cms(304 if length is not None else 305)
        if not send:
            index = self.sms_store.free_index()
            if index is None:
                return self.cms(322)
            self.sms_store.slots[index - 1] = {'stat': 2, 'pdu': pdu}
            self.line(f'+CMGW: {index}')
            return 'OK'
        if self.reg_stat not in (1, 5):
            return self.cms(331)
        store = self.sms_store
        mr = store.mr = (store.mr + 1) & 0xFF

        def sent():
            self._sms_sent(parsed, pdu, mr)
            self.line(f'+CMGS: {mr}')
            self.finish('OK')
        self.later(self.sms_config('sms_send_s'), sent)
        return None

    def at_cmss(self, op, args):
        """s3.5.2: send the SMS-SUBMIT stored at <index> (to <da> when given); it stays stored,
        its status becomes STO SENT."""
        if op == 'test':
            return 'OK'
        if op != 'set':
            return 'ERROR'
        slot = self._sms_slot(args)
        if slot is None:
            return self.cms(321)            # 27.005 s3.2.5: invalid memory index
        try:
            parsed = smspdu.parse(slot['pdu'])
            if parsed.kind != smspdu.SUBMIT:
                raise ValueError('not an SMS-SUBMIT')
        except ValueError:
            return self.cms(302)        # a received message cannot be sent
        pdu = slot['pdu']
        if len(args) > 1 and args[1]:
            pdu = smspdu.submit(self.arg_str(args, 1, 21), parsed.ud, parsed.udl, parsed.dcs,
                                udhi=parsed.udhi, smsc=self.csca)
            parsed = smspdu.parse(pdu)
        if self.reg_stat not in (1, 5):
            return self.cms(331)
        store = self.sms_store
        mr = store.mr = (store.mr + 1) & 0xFF

        def sent():
            slot['stat'] = 3
            self._sms_sent(parsed, pdu, mr)
            self.line(f'+CMSS: {mr}')
            self.finish('OK')
        self.later(self.sms_config('sms_send_s'), sent)
        return None

    def _text_submit(self, number, data):
        alpha = smspdu.alphabet(self.csmp[3])
        if self.cscs == 'UCS2' or alpha == smspdu.DATA8:
            raw = smspdu.from_hex(data.decode('latin-1').strip())
            text = gsm7.ucs2_decode(raw) if self.cscs == 'UCS2' else None
        else:
            raw, text = None, data.decode('latin-1')
        if alpha == smspdu.DATA8:
            body = raw
        elif alpha == smspdu.UCS2:
            body = gsm7.ucs2_encode(text)
        else:
            body = gsm7.encode(text)
        if len(body) > smspdu.SINGLE[alpha]:
            raise ValueError('text longer than one SMS')
        ud, udl = smspdu.user_data(body, alpha)
        return smspdu.submit(number, ud, udl, self.csmp[3], smsc=self.csca, vp=self.csmp[1],
                             pid=self.csmp[2])

    def _sms_sent(self, parsed, pdu, mr):
        alpha = parsed.alphabet()
        entry = {'to': parsed.number, 'dcs': parsed.dcs, 'mr': mr, 'pdu': smspdu.to_hex(pdu),
                 'concat': parsed.concat(), 'user_data': bytes(parsed.body()) if alpha ==
                 smspdu.DATA8 else parsed.text(), 'part': 1, 'parts': 1}
        if entry['concat']:
            entry['part'], entry['parts'] = entry['concat'][2], entry['concat'][1]
        self.sms_out.append(entry)
        self.log('sms_sent', to=parsed.number, mr=mr)
        if self.config.get('sms_log'):
            with open(self.config['sms_log'], 'a', encoding='utf-8') as f:
                shown = dict(entry, user_data=entry['user_data'].hex()
                             if isinstance(entry['user_data'], bytes) else entry['user_data'])
                f.write(json.dumps(shown) + '\n')
        if parsed.number == self.sms_config('sms_echo'):
            echo = smspdu.deliver(parsed.number, parsed.ud, parsed.udl, self._sms_now(),
                                  parsed.dcs, udhi=parsed.udhi, smsc=self.csca)
            self.later(0.2, self.deliver_pdu, echo)

    # -- reading ----------------------------------------------------------------------------

    def _sms_index(self, args, i=0):
        index = self.arg_int(args, i, 0, 65535)
        if not 1 <= index <= len(self.sms_store.slots):
            raise IndexError(index)
        return index

    def _sms_slot(self, args):
        """The stored message <index> names, or None for an index out of range or empty."""
        try:
            return self.sms_store.slots[self._sms_index(args) - 1]
        except IndexError:
            return None

    def _sms_show(self, prefix, index, slot):
        pdu = slot['pdu']
        p = smspdu.parse(pdu)
        head = f'{prefix}{index},' if index is not None else prefix
        if self.cmgf == 0:
            self.line(f'{head}{slot["stat"]},"",{smspdu.tpdu_length(pdu)}')
            self.line(smspdu.to_hex(pdu))
            return
        when = ''
        if p.timestamp is not None:
            t = p.timestamp
            when = (f'"{t[0]:02d}/{t[1]:02d}/{t[2]:02d},{t[3]:02d}:{t[4]:02d}:{t[5]:02d}'
                    f'{"-" if t[6] < 0 else "+"}{abs(t[6]):02d}"')
        fields = [f'"{STATS[slot["stat"]]}"', f'"{p.number}"', '""', when]
        if self.csdh:
            first = pdu[1 + pdu[0]]
            toa = 145 if p.number.startswith('+') else 129
            fields += [str(toa), str(first), str(p.pid), str(p.dcs), f'"{p.smsc}"', '145',
                       str(p.udl)]
        self.line(head + ','.join(fields))
        self.line(self._sms_text(p))

    def _sms_text(self, p):
        alpha = p.alphabet()
        if alpha == smspdu.DATA8:
            return smspdu.to_hex(p.body())
        text = p.text()
        if self.cscs == 'UCS2':
            return smspdu.to_hex(gsm7.ucs2_encode(text))
        if alpha == smspdu.UCS2:
            return smspdu.to_hex(p.body())     # 27.005 s3.1: UCS2 data in hex in text mode
        return text.encode('latin-1', 'replace').decode('latin-1')

    def at_cmgr(self, op, args):
        if op == 'test':
            return 'OK'
        if op != 'set':
            return 'ERROR'
        slot = self._sms_slot(args)
        if slot is None:
            return self.cms(321)            # 27.005 s3.2.5: invalid memory index
        self._sms_show('+CMGR: ', None, slot)
        if slot['stat'] == 0:
            slot['stat'] = 1
        return 'OK'

    def _sms_stat_arg(self, op, args):
        if op != 'set':
            return 0
        if self.cmgf == 0:
            if not (args and args[0] and args[0].isdigit() and int(args[0]) <= 4):
                raise ValueError(args)
            return int(args[0])
        if not args or not args[0]:
            return 0
        text = self.arg_str(args, 0, 12).upper().replace('_', ' ')
        if text not in STATS:
            raise ValueError(text)
        return STATS.index(text)

    def at_cmgl(self, op, args):
        if op == 'test':
            self.line('+CMGL: (0-4)' if self.cmgf == 0 else
                      '+CMGL: ("REC UNREAD","REC READ","STO UNSENT","STO SENT","ALL")')
            return 'OK'
        if op not in ('set', 'exec'):
            return 'ERROR'
        try:
            stat = self._sms_stat_arg(op, args)
        except ValueError:
            return self.cms(304 if self.cmgf == 0 else 305)
        for i, slot in enumerate(self.sms_store.slots):
            if slot is not None and (stat == 4 or slot['stat'] == stat):
                self._sms_show('+CMGL: ', i + 1, slot)
                if slot['stat'] == 0:
                    slot['stat'] = 1
        return 'OK'

    def at_cmgd(self, op, args):
        if op == 'test':
            self.line(f'+CMGD: (1-{len(self.sms_store.slots)}),(0-4)')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        flag = self.arg_int(args, 1, 0, 4, default=0)
        slots = self.sms_store.slots
        if flag == 0:
            try:
                index = self._sms_index(args)
            except IndexError:
                return self.cms(321)
            slots[index - 1] = None
        else:
            # s3.5.4: 1 read, 2 read and sent, 3 read, sent and unsent, 4 all
            gone = {1: (1,), 2: (1, 3), 3: (1, 2, 3), 4: (0, 1, 2, 3)}[flag]
            for i, slot in enumerate(slots):
                if slot is not None and slot['stat'] in gone:
                    slots[i] = None
        self.later(0, self._sms_freed)
        return 'OK'
