# Types of modemkit.sock for IDEs and mypy. Methods returning _Op are generators: yield them
# from a task (modemkit.sched); their result is what `yield` gives back.
from typing import Any, Generator, Optional, Tuple, Union

from _typeshed import Incomplete
from modemkit.sched import Event as Event, Return as Return
from modemkit.port import const as const

ECONNREFUSED: int
ECONNRESET: int
ETIMEDOUT: int
ENETDOWN: int
EOPNOTSUPP: int
EIO: int
TCP: int
UDP: int
LISTENER: int
OPENING: int
OPEN: int
EOF: int
CLOSED: int

_Op = Generator[Any, Any, None]
_Buffer = Union[bytes, bytearray, memoryview]
_Addr = Tuple[str, int]

class NetError(OSError): ...
class Refused(NetError): ...
class Closed(NetError): ...
class TimedOut(NetError): ...
class NetDown(NetError): ...
class Unsupported(NetError): ...

class Socket:
    err: Incomplete
    addr: Incomplete
    backlog: Incomplete
    res: Incomplete
    rclosed: bool
    dropped: int
    modem: Incomplete
    kind: Incomplete
    id: int
    state: Incomplete
    rx: Incomplete
    head: int
    n: int
    pending: bool
    ev: Incomplete
    put_fn: Incomplete
    tx: Incomplete
    thead: int
    tlen: int
    tqueued: int
    tsent: int
    xbuf: Incomplete
    xoff: int
    xn: int
    def __init__(self, modem: Any, kind: int, rx_size: int, tx_size: int = 0) -> None: ...
    def room(self) -> int: ...
    def put(self, buf: _Buffer, start: int, end: int) -> None: ...
    def fail(self, err: BaseException) -> None: ...
    def sent(self, k: int, kx: int = 0) -> None: ...
    def peer_closed(self) -> None: ...
    def available(self) -> int: ...
    def take_into(self, buf: Union[bytearray, memoryview], want: int, off: int = 0) -> int: ...
    def recv_into(self, buf: Union[bytearray, memoryview], timeout_ms: Optional[int] = None,
                  nbytes: Optional[int] = None, off: int = 0) -> _Op: ...
    def write(self, buf: _Buffer, n: Optional[int] = None, off: int = 0) -> int: ...
    def send(self, data: _Buffer, timeout_ms: Optional[int] = None,
             nbytes: Optional[int] = None) -> _Op: ...
    def sendto(self, data: _Buffer, addr: _Addr, timeout_ms: Optional[int] = None) -> _Op: ...
    def accept(self, timeout_ms: Optional[int] = None) -> _Op: ...
    def close(self) -> _Op: ...
