"""One run at a time on one test account, among the runs on one machine: a lock file for the target and the account,
held by the run that may change the account until its process ends. A second run finds it held and says at once who
holds it, instead of voiding the first run's SMS codes and moving its account under it. (Runs on different machines
cannot see it: they fall out of step by the random pauses of contract_suite.engine.refused_codes, and a moved
account is re-checked before blame.)"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on POSIX: no lock (runs on one machine are then told apart as runs on two)
    fcntl = None


@dataclass(frozen=True)
class Held:
    """The lock is another run's: its file and what that run wrote in it."""

    path: Path
    holder: str  # "pid 1234 since 2026-12-06 02:31:41 UTC", or "" when unreadable

    def reason(self, account: str, base_url: str) -> str:
        by = f" ({self.holder})" if self.holder else ""
        return (
            f"the test account {account} on {base_url} is in use by another run of the suite on this machine{by}: "
            f"run one after another, or give each run its own account (lock file {self.path})"
        )


class AccountLock:
    """The lock of one account on one target; `acquire` returns it held, or Held when another process holds it."""

    def __init__(self, path: Path, descriptor: int):
        self.path = path
        self._descriptor = descriptor

    def __repr__(self) -> str:
        return f"AccountLock({str(self.path)!r})"

    @staticmethod
    def path_for(folder: Path, base_url: str, account: str) -> Path:
        digest = hashlib.sha256(f"{base_url.rstrip('/')}\n{account}".encode()).hexdigest()[:16]
        return folder / f"contract-suite-account-{digest}.lock"

    @classmethod
    def acquire(cls, folder: Path, base_url: str, account: str, now: float | None = None) -> AccountLock | Held | None:
        """The lock, held by this process until it ends (or release()); Held when another process has it; None when
        no lock can be taken here (no POSIX locks, or the folder cannot be written): the run goes on without."""
        if fcntl is None:
            return None
        path = cls.path_for(folder, base_url, account)
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read(descriptor)
            os.close(descriptor)
            return Held(path, holder)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()} since {stamp}".encode(), 0)
        return cls(path, descriptor)

    def release(self) -> None:
        if self._descriptor >= 0:
            os.close(self._descriptor)  # closing the file releases the lock
            self._descriptor = -1


def _read(descriptor: int) -> str:
    try:
        return os.pread(descriptor, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
