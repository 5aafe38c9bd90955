# Types of modemkit.board for IDEs and mypy.
from typing import Any, Callable, Dict, Optional, Tuple

from modemkit import port as port, unload as unload
from modemkit.modem import Modem
from modemkit.sched import Scheduler

DIALECTS: Dict[str, Tuple[str, str]]
APP_KEYS: Tuple[str, ...]

class BoardError(Exception): ...

def load(path: str) -> Dict[str, Any]: ...
def modem(sched: Scheduler, cfg: Dict[str, Any],
          log: Optional[Callable[[str], Any]] = None) -> Modem: ...
def release(cfg: Dict[str, Any]) -> None: ...
