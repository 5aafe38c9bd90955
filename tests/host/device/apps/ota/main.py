"""The app of the OTA tests (test_ota_mpy.py): says its version and whether it runs on trial;
a good version confirms itself; with ota_url.txt beside main.py it fetches the update that
file names (and the seconds its trial may take) through the emulated modem. The tests write
MODE = 'raise' (a version that crashes), 'return' (one that ends without confirming) or 'hang'
(one that runs on without confirming) into a copy for a broken update."""
from modemkit import board, http, ota
from modemkit.sched import Scheduler

MODE = 'good'


def main(path='board.json'):
    cfg = board.load(path)
    version = cfg['bundle']['version']
    print('app %s %s trial=%s' % (version, MODE, ota.on_trial()))
    if MODE == 'raise':
        raise RuntimeError('version %s is broken' % version)
    if MODE == 'hang':
        import time
        while True:
            time.sleep(1)
    if MODE == 'good' and ota.on_trial():
        print('confirmed %s' % ota.confirm())
    url = ota.marker('ota_url.txt')
    if MODE == 'return' or not url:
        print('app %s ends' % version)
        return
    sched = Scheduler(depth=http.DEPTH + 3)
    modem = board.modem(sched, cfg, log=lambda m: None)
    modem.start()
    h = http.client(modem, cfg.get('http', {}), bytearray(512))

    def fetch():
        yield modem.wait_ready(60000)
        try:
            v = yield ota.update(h, url[0], deadline_s=int(url[1]) if len(url) > 1 else 60)
            print('update %s' % v)
            if v:
                # before the reboot: nothing more to fetch, and nothing to confirm yet
                v = yield ota.update(h, url[0])
                print('again %s, confirm %s' % (v, ota.confirm()))
        except Exception as e:
            print('update failed %s %s' % (type(e).__name__, e))

    sched.run(fetch())
