"""SMS verification codes: issuing them (what sendPhoneSmsCode does) and checking them."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import storage

DIGITS = 6
DB_ENV = "REFERENCE_SERVER_DB"  # the database a code is issued into, when no --db says
DEFAULT_DB = "./reference-server.sqlite3"
LIFETIME_SECONDS = 300  # "the last unused code sent within 5 minutes is valid"
# The code function's send rules, from the environment the profile's function is given (as --min-interval and
# --delivery-seconds of `issue-code`)
MIN_INTERVAL_ENV = "REFERENCE_SERVER_MIN_INTERVAL"
DELIVERY_ENV = "REFERENCE_SERVER_DELIVERY_SECONDS"


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


class TooSoon(Exception):
    """The platform's minimum interval between two codes to one number has not passed: no code was sent."""

    def __init__(self, retry_after: float):
        super().__init__(f"too soon after this number's last code: ask again in {retry_after:.2f} s (nothing sent)")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SendRules:
    """How the reference platform's SMS sender behaves, to rehearse a run against a real one: a minimum interval
    between two codes to one number (a code asked sooner is refused, nothing sent), and a delivery time (the code
    arrives this long after it is asked for)."""

    min_interval: float = 0.0
    delivery_seconds: float = 0.0


def issue_code(
    db_path: str | os.PathLike,
    international_code: str,
    phone: str,
    clock: Callable[[], float] = time.time,
    rules: SendRules = SendRules(),
) -> str:
    """Issue a code into the database at `db_path` (created and seeded if new); TooSoon within the rules' interval."""
    storage.ensure_database(db_path, clock)
    db = storage.connect(db_path)
    try:
        if rules.min_interval:
            last = db.execute(
                "SELECT MAX(issued_at) FROM sms_codes WHERE international_code = ? AND phone = ?",
                (international_code, phone),
            ).fetchone()[0]
            if last is not None and clock() - last < rules.min_interval:
                raise TooSoon(rules.min_interval - (clock() - last))
        if rules.delivery_seconds:
            time.sleep(rules.delivery_seconds)
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
    rules = SendRules(float(env.get(MIN_INTERVAL_ENV) or 0), float(env.get(DELIVERY_ENV) or 0))
    try:
        return issue_code(db_path, international_code, phone, rules=rules)
    except TooSoon as exc:  # the suite's documented way for a code function to say "not now"
        from contract_suite.target_data.code_function import Throttled

        raise Throttled(exc.retry_after) from None


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
