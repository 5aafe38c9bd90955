"""V.250 basic commands and the common 3GPP TS 27.007 commands, shared by every dialect.

A mixin of `Modem`: handlers use its `line`, `arg_int`, `cme`... and the values in `config`.
"""

# 3GPP TS 27.007 §9.2 (+CME ERROR codes and their verbose texts)
CME_ERRORS = {
    0: 'phone failure', 1: 'no connection to phone', 3: 'operation not allowed',
    4: 'operation not supported', 5: 'PH-SIM PIN required', 10: 'SIM not inserted',
    11: 'SIM PIN required', 12: 'SIM PUK required', 13: 'SIM failure', 14: 'SIM busy',
    15: 'SIM wrong', 16: 'incorrect password', 20: 'memory full', 21: 'invalid index',
    22: 'not found', 23: 'memory failure', 24: 'text string too long',
    25: 'invalid characters in text string', 26: 'dial string too long',
    27: 'invalid characters in dial string', 30: 'no network service', 31: 'network timeout',
    32: 'network not allowed - emergency calls only', 50: 'incorrect parameters',
    100: 'unknown', 132: 'service option not supported',
    133: 'requested service option not subscribed', 134: 'service option temporarily out of order',
    148: 'unspecified GPRS error', 149: 'PDP authentication failure',
}

REGISTRATION_COMMANDS = ('+CREG', '+CGREG', '+CEREG')


class CommonCommands:
    """Handlers for AT, E, V, Q, I, Z, &F, H, O, S and +CGMI...+CGATT."""

    COMMANDS = {
        'E': 'at_echo', 'V': 'at_verbose', 'Q': 'at_quiet', 'I': 'at_info', 'Z': 'at_reset',
        '&F': 'at_reset', 'H': 'at_hangup', 'O': 'at_online', 'S': 'at_sreg',
        '+CGMI': 'at_cgmi', '+CGMM': 'at_cgmm', '+CGMR': 'at_cgmr', '+CGSN': 'at_cgsn',
        '+CPIN': 'at_cpin', '+CREG': 'at_creg', '+CGREG': 'at_creg', '+CEREG': 'at_creg',
        '+CSQ': 'at_csq', '+COPS': 'at_cops', '+CMEE': 'at_cmee', '+CFUN': 'at_cfun',
        '+CGATT': 'at_cgatt',
    }
    CME_ERRORS = CME_ERRORS

    def reset_network_state(self):
        """Registration, functionality and attach state at power-on."""
        self.reg_mode = dict.fromkeys(REGISTRATION_COMMANDS, 0)
        self.reg_stat = self.config['reg_stat']
        self.cfun = 1
        self.attached = 1 if self.reg_stat in (1, 5) else 0

    def set_registration(self, stat):
        """Change the registration status, with +CREG/+CGREG/+CEREG URCs where enabled."""
        self.reg_stat = stat
        for name in REGISTRATION_COMMANDS:
            if self.reg_mode[name]:
                self.urc(f'{name}: {self._registration_fields(name, with_n=False)}')

    def _registration_fields(self, name, with_n):
        fields = [str(self.reg_stat)]
        if self.reg_mode[name] == 2 and self.reg_stat in (1, 5):
            fields += [f'"{self.config["lac"]}"', f'"{self.config["ci"]}"']
        if with_n:
            fields.insert(0, str(self.reg_mode[name]))
        return ','.join(fields)

    # -- V.250 ------------------------------------------------------------------------------

    def _flag(self, op, args):
        """The 0/1 value of a basic command such as E0 (no digit = 0)."""
        if op == 'exec':
            return 0
        if op != 'set':
            return None
        value = args[0]
        return int(value) if value in ('0', '1') else None

    def at_echo(self, op, args):
        value = self._flag(op, args)
        if value is None:
            return 'ERROR'
        self.echo = bool(value)
        return 'OK'

    def at_verbose(self, op, args):
        value = self._flag(op, args)
        if value is None:
            return 'ERROR'
        self.verbose = bool(value)
        return 'OK'

    def at_quiet(self, op, args):
        value = self._flag(op, args)
        if value is None:
            return 'ERROR'
        self.quiet = bool(value)
        return 'OK'

    def identity(self):
        """The lines of ATI."""
        c = self.config
        return [c['manufacturer'], c['model'], f'Revision: {c["revision"]}']

    @staticmethod
    def _no_digit_or_zero(op, args):
        return op == 'exec' or (op == 'set' and args[0] == '0')

    def at_info(self, op, args):
        if not self._no_digit_or_zero(op, args):
            return 'ERROR'
        for text in self.identity():
            self.line(text)
        return 'OK'

    def at_reset(self, op, args):
        if not self._no_digit_or_zero(op, args):
            return 'ERROR'
        self.reset_settings()
        return 'OK'

    def at_hangup(self, op, args):
        return 'OK'

    def at_online(self, op, args):
        return 'NO CARRIER'

    def at_sreg(self, op, args):
        register = self.arg_int(args, 0, 0, 255)
        if op == 'read':
            if register not in self.sregs:
                return 'ERROR'
            self.line(f'{self.sregs[register]:03d}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        value = self.arg_int(args, 1, 0, 255, default=0)
        if register not in self.sregs:
            return 'ERROR'
        self.sregs[register] = value
        if register == 12:
            # V.250 S12: escape guard time in units of 1/50 s (Telit ATS12, T-IPE §6.2.1)
            self.guard_s = value / 50
        return 'OK'

    # -- identification ---------------------------------------------------------------------

    def _info(self, op, text):
        if op == 'test':
            return 'OK'
        if op != 'exec':
            return 'ERROR'
        self.line(text)
        return 'OK'

    def at_cgmi(self, op, args):
        return self._info(op, self.config['manufacturer'])

    def at_cgmm(self, op, args):
        return self._info(op, self.config['model'])

    def at_cgmr(self, op, args):
        return self._info(op, self.config['revision'])

    def at_cgsn(self, op, args):
        return self._info(op, self.config['imei'])

    def at_cpin(self, op, args):
        if op != 'read':
            return 'ERROR' if op != 'test' else 'OK'
        self.line(f'+CPIN: {self.config["pin_state"]}')
        return 'OK'

    # -- network ----------------------------------------------------------------------------

    def at_creg(self, op, args):
        name = self.command.name
        if op == 'read':
            self.line(f'{name}: {self._registration_fields(name, with_n=True)}')
        elif op == 'set':
            self.reg_mode[name] = self.arg_int(args, 0, 0, 2, default=0)
        elif op == 'test':
            self.line(f'{name}: (0-2)')
        else:
            return 'ERROR'
        return 'OK'

    def at_csq(self, op, args):
        if op == 'test':
            self.line('+CSQ: (0-31,99),(0-7,99)')
        elif op == 'exec':
            rssi = self.config['csq'] if self.cfun == 1 else 99
            self.line(f'+CSQ: {rssi},99')
        else:
            return 'ERROR'
        return 'OK'

    def at_cops(self, op, args):
        if op == 'read':
            if self.reg_stat in (1, 5):
                self.line(f'+COPS: 0,0,"{self.config["operator"]}",{self.config["act"]}')
            else:
                self.line('+COPS: 0')
        elif op == 'set':
            self.arg_int(args, 0, 0, 4)
        elif op != 'test':
            return 'ERROR'
        return 'OK'

    def at_cmee(self, op, args):
        if op == 'read':
            self.line(f'+CMEE: {self.cmee}')
        elif op == 'set':
            self.cmee = self.arg_int(args, 0, 0, 2, default=0)
        elif op == 'test':
            self.line('+CMEE: (0-2)')
        else:
            return 'ERROR'
        return 'OK'

    def at_cfun(self, op, args):
        if op == 'read':
            self.line(f'+CFUN: {self.cfun}')
            return 'OK'
        if op == 'test':
            self.line('+CFUN: (0,1,4),(0-1)')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        fun = self.arg_int(args, 0, 0, 4)
        reset = self.arg_int(args, 1, 0, 1, default=0)
        if fun not in (0, 1, 4):
            return self.cme(50)
        if reset:
            self.later(0, self.reboot)
            return 'OK'
        if fun != self.cfun:
            self.cfun = fun
            self.attached = 1 if fun == 1 else 0
            self.set_registration(self.config['reg_stat'] if fun == 1 else 0)
        return 'OK'

    def at_cgatt(self, op, args):
        if op == 'read':
            self.line(f'+CGATT: {self.attached}')
        elif op == 'set':
            state = self.arg_int(args, 0, 0, 1)
            if state and self.reg_stat not in (1, 5):
                return self.cme(30)
            self.attached = state
        elif op == 'test':
            self.line('+CGATT: (0,1)')
        else:
            return 'ERROR'
        return 'OK'
