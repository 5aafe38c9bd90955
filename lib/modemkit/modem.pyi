# Types of modemkit.modem (the lifecycle every dialect shares) for IDEs and mypy. Methods
# returning _Op are generators: yield them from a task (modemkit.sched).
from _typeshed import Incomplete
from collections.abc import Generator
from typing import Any, Callable, Dict, Optional, Union

from modemkit.sched import Scheduler
from modemkit import at as at, port as port, sock as sock
from modemkit.sched import Cancelled as Cancelled, Event as Event, Return as Return
from modemkit.sock import NetError as NetError

STATE_NAMES: Incomplete
OFF: int
POWER: int
SYNC: int
CONFIG: int
SIM: int
REGISTER: int
ATTACH: int
READY: int
RECOVER: int
BACKOFF_MS: Incomplete

class Modem:
    CAPS: Incomplete
    MAX_SOCKETS: int
    SEND_CHUNK: int
    BOOT_URCS: Incomplete
    RESET: bytes
    REG_QUERIES: Incomplete
    CMEE: bytes
    SEND_CMD: Incomplete
    SEND_FULL: Incomplete
    POLL_MS: Incomplete
    UP: Optional[str]
    sched: Incomplete
    cfg: Incomplete
    log: Incomplete
    chan: Incomplete
    state: Incomplete
    ready: Incomplete
    wake: Incomplete
    work: Incomplete
    tx_size: Incomplete
    trouble: Incomplete
    failures: int
    ip: Incomplete
    socks: Incomplete
    rx_size: Incomplete
    def __init__(self, sched: Scheduler, uart: Any, cfg: Optional[Dict[str, Any]] = None,
                 log: Optional[Callable[[str], Any]] = None, **chan_args: Any) -> None: ...
    def start(self) -> None: ...
    def wait_ready(self, timeout_ms: Optional[int] = None) -> Generator[Incomplete]: ...
    def q(self, text: Union[str, bytes], timeout_ms: int = 1000, expect: Optional[bytes] = None,
          ok: bool = True, secret: bool = False) -> Generator[Incomplete, Incomplete]: ...
    def configure(self) -> Generator[Incomplete]: ...
    def activate(self) -> Generator[Incomplete]: ...
    def poll(self) -> Generator[None]: ...
    def cleanup(self, back) -> Generator[None]: ...
    def need(self, cap) -> None: ...
    def new_socket(self, kind, timeout_ms, rx_size=None, tx_size=None) -> Generator[Incomplete]: ...
    first_id: int
    def sock_by_id(self, cid): ...
    def forget(self, s) -> None: ...
    def open(self, host: str, port_: int, kind: int = ..., timeout_ms: int = 30000,
             rx_size: Optional[int] = None, tx_size: Optional[int] = None,
             data: bool = False) -> Generator[Incomplete, Incomplete]: ...
    dm: Incomplete
    def datamode(self): ...
    def data_cmd(self, s, host: str, port_: int): ...
    def send(self, s, data, n: int, timeout_ms: int) -> Generator[Incomplete, Incomplete]: ...
    def escape(self, s) -> Generator[Incomplete, Incomplete]: ...
    def resume(self, s) -> Generator[Incomplete, Incomplete]: ...
    def kick(self) -> None: ...
    def send_refused(self, s) -> Generator[None]: ...

def shown(text: str, secret: bool) -> str: ...
def fail(cmd, resp, secret: bool = False): ...
