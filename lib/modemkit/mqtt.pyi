# Types of modemkit.mqtt for IDEs and mypy. Methods returning _Op are generators: yield them
# from a task (modemkit.sched).
from typing import Any, Callable, Generator, Optional, Tuple, Union

from _typeshed import Incomplete
from modemkit.sched import Task
from modemkit.port import const as const, ticks_add as ticks_add, ticks_diff as ticks_diff
from modemkit.sched import Event as Event, Return as Return
from modemkit.sock import ECONNRESET as ECONNRESET, EOF as EOF, NetError as NetError, TimedOut as TimedOut

DOWN: int
CONNECTING: int
UP: int
STATE_NAMES: Incomplete
CONNACK_TEXT: Incomplete

_Op = Generator[Any, Any, None]
_Bytes = Union[bytes, bytearray, memoryview]

class MQTTError(Exception): ...
class ProtocolError(MQTTError): ...
class ConnectRefused(MQTTError): ...
class PacketTooLarge(MQTTError): ...
class NotConnected(MQTTError): ...

class MQTT:
    modem: Incomplete
    sched: Incomplete
    host: Incomplete
    port: Incomplete
    client_id: Incomplete
    user: Incomplete
    password: Incomplete
    keepalive: Incomplete
    clean: Incomplete
    will: Incomplete
    on_message: Incomplete
    on_ack: Incomplete
    max_packet: Incomplete
    backoff_max_ms: Incomplete
    ack_ms: Incomplete
    log: Incomplete
    state: Incomplete
    sock: Incomplete
    up: Incomplete
    acked: Incomplete
    subs: Incomplete
    connects: int
    skipped: int
    last_error: Incomplete
    def __init__(self, modem: Any, host: str, port: int = 1883, client_id: Union[str, bytes] = 'modemkit',
                 user: Optional[Union[str, bytes]] = None,
                 password: Optional[Union[str, bytes]] = None, keepalive: int = 60,
                 clean: bool = True, will: Optional[Tuple[Any, ...]] = None,
                 on_message: Optional[Callable[[bytes, bytes, int], Any]] = None,
                 on_ack: Optional[Callable[[int], Any]] = None, max_packet: int = 512,
                 window: int = 4, backoff_max_ms: int = 60000, ack_timeout_ms: int = 30000,
                 log: Optional[Callable[[str], Any]] = None) -> None: ...
    def publish_nowait(self, topic: _Bytes, msg: _Bytes, qos: int = 0,
                       retain: bool = False) -> int: ...
    def in_flight(self) -> int: ...
    def publish(self, topic: _Bytes, msg: _Bytes, qos: int = 0, retain: bool = False,
                timeout_ms: Optional[int] = None) -> _Op: ...
    def subscribe(self, topic: _Bytes, qos: int = 0, timeout_ms: int = 10000) -> _Op: ...
    def unsubscribe(self, topic: _Bytes, timeout_ms: int = 10000) -> _Op: ...
    def start(self) -> Task: ...
    def wait_up(self, timeout_ms: Optional[int] = None) -> _Op: ...
    def disconnect(self) -> _Op: ...
