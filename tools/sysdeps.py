"""Install the system packages modemkit's tests use as real peers, if they are missing.

Debian's mosquitto is the MQTT broker the tests start on 127.0.0.1; socat links the ptys that
put the MicroPython unix port's REPL within mpremote's reach (tests/host/device). Installing
needs apt-get and root; without them this says what is missing and the tests that need it skip
visibly.
"""
import os
import shutil
import subprocess
import sys

# command -> Debian package; socat joins two ptys so mpremote reaches the MicroPython unix port
PACKAGES = {'mosquitto': 'mosquitto', 'socat': 'socat'}


def main():
    missing = [pkg for cmd, pkg in PACKAGES.items()
               if not shutil.which(cmd) and not os.path.exists('/usr/sbin/' + cmd)]
    if not missing:
        return 0
    if shutil.which('apt-get') and os.geteuid() == 0:
        print('sysdeps: installing %s' % ' '.join(missing), flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        subprocess.run(['apt-get', 'update', '-qq'], env=env, check=False)
        r = subprocess.run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends'] + missing,
                           env=env)
        if r.returncode == 0:
            return 0
    print('sysdeps: %s not installed; tests that need it will be skipped' % ' '.join(missing))
    return 0


if __name__ == '__main__':
    sys.exit(main())
