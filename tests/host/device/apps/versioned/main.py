"""An on-module app that reports the version its bundle carries (cfg['bundle']['version'])
on modemkit/<device>/version twice a second, over MQTT through the module's own sockets: what
`modemkit upgrade --confirm mqtt` waits for."""
from modemkit import board
from modemkit.mqtt import MQTT
from modemkit.sched import Scheduler


def main(path='board.json'):
    cfg = board.load(path)
    s = Scheduler()
    modem = board.modem(s, cfg)
    mq = cfg['mqtt']
    client = MQTT(modem, mq['host'], mq.get('port', 1883), client_id=mq['device'],
                  keepalive=mq.get('keepalive', 30))
    topic = ('modemkit/%s/version' % mq['device']).encode()
    version = cfg.get('bundle', {}).get('version', '?').encode()

    def report():
        modem.start()
        client.start()
        while True:
            yield client.up.wait()
            yield client.publish(topic, version, 0)
            yield s.sleep_ms(500)

    s.run(report())
