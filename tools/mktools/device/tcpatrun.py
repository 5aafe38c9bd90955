"""The host end of TCPATRUN in server mode (T-RUN §3.2): connect to a module's listening port,
log in, and get an AtLink on the AT instance the service dedicates to the session.

Both authentication modes of §3.2.2:
- automatic (the default on the module): "userid<CR>passw<CR>" straight away, no prompt and no
  answer; a wrong pair closes the connection at once, so success shows only as the first
  command's OK;
- step-by-step: "Username: " -> userid<CR> -> "Password: " -> passw<CR> -> "Login successful.".
`auth='auto'` waits `prompt_wait` seconds for "Username:" and takes the step-by-step path if it
comes.  A firewall refusal (#TCPATRUNFRWL, §3.2.1) is silent: the module accepts the TCP
connection and never answers, which is how `NoAnswer` is told apart from `LoginRefused`.
"""

import socket
import time

from mktools.device.wscript import AtLink, AtTimeout, DeployError, LinkClosed, SocketTransport

AUTH_MODES = ('auto', 'automatic', 'step')


class Unreachable(DeployError):
    """Nothing listens (connection refused) or the address does not answer at all."""


class LoginRefused(DeployError):
    """The module closed the connection on the credentials (§3.2.2)."""


class NoAnswer(DeployError):
    """Connected, but the module never answered: its TCPATRUN firewall drops this address
    (§3.2.1: not in an ACCEPT rule of #TCPATRUNFRWL), or the service is stuck."""


def _wait_for(link, token, deadline):
    """True once `token` arrived; False when the time is up; LinkClosed when closed."""
    while token not in link.buf:
        if not link.fill(deadline):
            return False
    del link.buf[:link.buf.find(token) + len(token)]
    return True


def connect(host, port, user, password, auth='auto', timeout=10.0, prompt_wait=1.5):
    """A logged-in TCPATRUN session as an AtLink (echo off, verbose errors)."""
    if auth not in AUTH_MODES:
        raise ValueError(f'auth must be one of {AUTH_MODES}')
    where = f'{host}:{port}'
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        raise Unreachable(f'{where}: connection refused (TCPATRUN not listening: #TCPATRUNL, '
                          'the PDP context, or the module is restarting)') from None
    except OSError as e:
        raise Unreachable(f'{where}: {e.strerror or e}') from None
    link = AtLink(SocketTransport(sock, where))
    try:
        _login(link, where, user, password, auth, timeout, prompt_wait)
        # the session's own AT instance: echo off and verbose errors for the parser
        link.command('ATE0', timeout)
        link.command('AT+CMEE=2', timeout)
    except LinkClosed:
        link.close()
        raise LoginRefused(f'{where}: the module closed the connection on login (wrong user '
                           'or password, §3.2.2)') from None
    except AtTimeout:
        link.close()
        raise NoAnswer(f'{where}: connected but no answer within {timeout:g} s (the TCPATRUN '
                       'firewall, #TCPATRUNFRWL, drops this address, or the service is stuck)'
                       ) from None
    except BaseException:
        link.close()
        raise
    return link


def _login(link, where, user, password, auth, timeout, prompt_wait):
    step = auth == 'step'
    if auth == 'auto':
        step = _wait_for(link, b'Username:', time.monotonic() + prompt_wait)
    elif step and not _wait_for(link, b'Username:', time.monotonic() + timeout):
        raise AtTimeout('no "Username:" prompt')
    if not step:
        link.write(f'{user}\r{password}\r'.encode('latin-1'))
        return
    link.write(user.encode('latin-1') + b'\r')
    if not _wait_for(link, b'Password:', time.monotonic() + timeout):
        raise AtTimeout('no "Password:" prompt')
    link.write(password.encode('latin-1') + b'\r')
    if not _wait_for(link, b'Login successful', time.monotonic() + timeout):
        raise AtTimeout('no "Login successful."')
