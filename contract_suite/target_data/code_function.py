"""`[codes] function`: a Python function that gives the run its SMS codes in the run's own process, instead of a
command started once per code. Found once, when the profile is read; called with a time bound.

    function = "package.module:name"     # importable where the suite runs
    function = "sms_codes.py:name"       # a file, relative to the profile's folder

It is called as name(international_code=..., phone=..., env=...) (env: the environment the profile's commands get,
read-only) and returns the number's fresh code as a string. A source that is throttled (it sent no SMS) raises
`Throttled(retry_after=seconds)` from this module: the run waits and asks again, within [codes] max_wait_seconds.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType


class FunctionNotFound(Exception):
    """The reference names no function that can be called; the message says what is wrong (no code in it)."""


class Throttled(Exception):
    """Raised by a [codes] function whose source said "not now" and sent no SMS: ask again after retry_after s."""

    def __init__(self, retry_after: float = 1.0):
        super().__init__(f"throttled for {retry_after:g} s")
        self.retry_after = float(retry_after)


class FunctionFailed(Exception):
    """The function raised, did not return in time, or returned no code; the message is to be masked."""


@dataclass(frozen=True)
class CodeFunction:
    reference: str  # as the profile gives it
    call: Callable[..., object] = field(repr=False, compare=False)


def find(reference: str, folder: Path) -> CodeFunction:
    """The function the reference names ("module:name", or "file.py:name" relative to folder)."""
    where, colon, name = reference.rpartition(":")
    if not colon or not where or not name.isidentifier():
        raise FunctionNotFound(f'must read "package.module:function" or "file.py:function", got {reference!r}')
    try:
        module = _load_file(folder / where) if where.endswith(".py") else importlib.import_module(where)
    except FunctionNotFound:
        raise
    except Exception as exc:  # the user's module failed as it was imported: say how, never where it came from
        raise FunctionNotFound(f"importing {where} failed: {type(exc).__name__}: {exc}"[:300]) from None
    found = getattr(module, name, None)
    if not callable(found):
        raise FunctionNotFound(f"{where} has no function {name}")
    return CodeFunction(reference, found)


def _load_file(path: Path):
    if not path.is_file():
        raise FunctionNotFound(f"no file {path}")
    spec = importlib.util.spec_from_file_location(f"contract_profile_codes_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ask(function: CodeFunction, international_code: str, phone: str, env: Mapping[str, str], timeout: float) -> str:
    """The code the function returns for the number; FunctionFailed when it raises, takes longer than timeout
    seconds (it is left running on a daemon thread: the run stops asking), or returns anything but one word."""
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["value"] = function.call(
                international_code=international_code, phone=phone, env=MappingProxyType(dict(env))
            )
        except BaseException as exc:  # SystemExit too: the function's failure, not the run's
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="codes-function", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise FunctionFailed(f"did not return within {timeout:g} s")
    if isinstance(outcome.get("error"), Throttled):
        raise outcome["error"]
    if "error" in outcome:
        error = outcome["error"]
        raise FunctionFailed(f"raised {type(error).__name__}: {error}"[:300])
    value = outcome.get("value")
    if not isinstance(value, str):  # never shown: it may be a code
        raise FunctionFailed(f"returned a {type(value).__name__}; it must return the code as a string")
    words = value.split()
    if len(words) != 1:
        raise FunctionFailed(f"returned {len(words)} words; it must return exactly one code")
    return words[0]
