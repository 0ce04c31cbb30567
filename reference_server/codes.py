"""SMS verification codes: issuing them (what sendPhoneSmsCode does) and checking them."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Mapping

from . import storage

DIGITS = 6
DB_ENV = "REFERENCE_SERVER_DB"  # the database a code is issued into, when no --db says
DEFAULT_DB = "./reference-server.sqlite3"
LIFETIME_SECONDS = 300  # "the last unused code sent within 5 minutes is valid"


def new_code() -> str:
    """A uniformly random code of DIGITS digits, from os.urandom. Not through the secrets module: `issue-code`
    starts once per SMS code, and secrets would import base64, hmac and random into every start."""
    span = 10**DIGITS
    below = (1 << 32) - (1 << 32) % span  # drawn values at or past it are drawn again: every code equally likely
    while True:
        value = int.from_bytes(os.urandom(4), "big")
        if value < below:
            return f"{value % span:0{DIGITS}d}"


def issue(db: sqlite3.Connection, international_code: str, phone: str, now: float) -> str:
    """Record a fresh code for the number; it replaces any code issued before."""
    code = new_code()
    db.execute(
        "INSERT INTO sms_codes (international_code, phone, code, issued_at) VALUES (?, ?, ?, ?)",
        (international_code, phone, code, now),
    )
    return code


def issue_code(
    db_path: str | os.PathLike,
    international_code: str,
    phone: str,
    clock: Callable[[], float] = time.time,
) -> str:
    """Issue a code into the database at `db_path` (created and seeded if new)."""
    storage.ensure_database(db_path, clock)
    db = storage.connect(db_path)
    try:
        return issue(db, international_code, phone, clock())
    finally:
        db.close()


def code_for_profile(international_code: str, phone: str, env: Mapping[str, str]) -> str:
    """A profile's `[codes] function` for the reference server: what `issue-code` does, in the suite's own process
    (no interpreter started per code). The database is the one env's REFERENCE_SERVER_DB names (else
    ./reference-server.sqlite3); it must exist already, as a server made it: a code issued into a database no
    server reads would never verify."""
    db_path = env.get(DB_ENV) or DEFAULT_DB
    if not os.path.exists(db_path):
        raise FileNotFoundError(
            f"no reference server database at {os.path.abspath(db_path)}: set {DB_ENV} to the server's --db"
        )
    return issue_code(db_path, international_code, phone)


def is_valid(
    db: sqlite3.Connection,
    international_code: str,
    phone: str,
    code: str,
    now: float,
    rules: CodeRules | None = None,
) -> bool:
    """True if `code` is the number's last issued code, unused and younger than the lifetime (the rules' when
    given; they may also spend the code by this check, right or wrong)."""
    last = db.execute(
        "SELECT id, code, issued_at, used_at FROM sms_codes"
        " WHERE international_code = ? AND phone = ? ORDER BY id DESC LIMIT 1",
        (international_code, phone),
    ).fetchone()
    if last is None or last["used_at"] is not None:
        return False
    lifetime = rules.lifetime if rules is not None else LIFETIME_SECONDS
    if now - last["issued_at"] >= lifetime:
        return False
    from hmac import compare_digest  # here, not at the top: only the server checks codes (see new_code)

    right = compare_digest(last["code"].encode(), code.encode())
    return right if rules is None else rules.checked(last["id"], right)


class CodeRules:
    """Rules real SMS-code platforms keep beyond the reference's: a shorter lifetime, a code spent by any check
    of it (right or wrong, an anti-guessing rule), a code voided after a number of wrong tries. Kept in memory by
    the serving process (a check's answer rolls its transaction back), by the code's row id."""

    def __init__(self, lifetime: float = LIFETIME_SECONDS, spent_by_check: bool = False, wrong_tries: int = 0):
        import threading

        self.lifetime = lifetime
        self.spent_by_check = spent_by_check
        self.wrong_tries = wrong_tries  # 0: no limit
        self._lock = threading.Lock()
        self._spent: set[int] = set()
        self._wrong: dict[int, int] = {}

    def checked(self, code_id: int, right: bool) -> bool:
        """Whether the code passes this check, counting the check against it."""
        with self._lock:
            if code_id in self._spent:
                return False
            if self.spent_by_check:
                self._spent.add(code_id)
            if not right and self.wrong_tries:
                self._wrong[code_id] = self._wrong.get(code_id, 0) + 1
                if self._wrong[code_id] >= self.wrong_tries:
                    self._spent.add(code_id)
            return right


def consume(db: sqlite3.Connection, international_code: str, phone: str, now: float) -> None:
    """Mark the number's unused codes used."""
    db.execute(
        "UPDATE sms_codes SET used_at = ? WHERE international_code = ? AND phone = ? AND used_at IS NULL",
        (now, international_code, phone),
    )
