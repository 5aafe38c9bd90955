# Types of modemkit.ftp. Client methods are generators: yield them from a task.
from typing import Any, Dict, Generator, Union

from _typeshed import Incomplete
from modemkit.sched import Return as Return
from modemkit.sock import NetError as NetError

DEPTH: int
ENOENT: int
EIO: int
EACCES: int
EPIPE: int

_Op = Generator[Any, Any, None]

# binascii's, where the port has it (None elsewhere): the checksum uploads are verified with
def crc32(data: Union[bytes, bytearray, memoryview], crc: int = 0, /) -> int: ...

class FtpError(NetError): ...
class LoginRefused(FtpError): ...
class NoSuchFile(FtpError): ...
class Broken(FtpError): ...

def part(buf, n): ...

BACKENDS: Incomplete

def client(modem: Any, cfg: Dict[str, Any], buf: bytearray) -> Client: ...

class Client:
    RESUME: bool
    SIZE: bool
    modem: Incomplete
    host: Incomplete
    port: Incomplete
    user: Incomplete
    password: Incomplete
    tmo: Incomplete
    buf: Incomplete
    progress: Incomplete
    left: int
    def __init__(self, modem: Any, cfg: Dict[str, Any], buf: bytearray) -> None: ...
    def put(self, name: str, src: Any, offset: int = 0, append: bool = False) -> _Op: ...
    def get(self, name: str, dst: Any, offset: int = 0) -> _Op: ...
    def list(self, dst: Any, path: str = '') -> _Op: ...
    def size(self, name: str) -> _Op: ...
    def delete(self, name: str) -> _Op: ...
    def close(self) -> _Op: ...
