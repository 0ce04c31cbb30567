"""SMS verification codes: issuing them (what sendPhoneSmsCode does) and checking them."""

import os
import sqlite3
import time
from collections.abc import Callable

from . import storage

DIGITS = 6
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


def is_valid(db: sqlite3.Connection, international_code: str, phone: str, code: str, now: float) -> bool:
    """True if `code` is the number's last issued code, unused and younger than the lifetime."""
    last = db.execute(
        "SELECT code, issued_at, used_at FROM sms_codes"
        " WHERE international_code = ? AND phone = ? ORDER BY id DESC LIMIT 1",
        (international_code, phone),
    ).fetchone()
    if last is None or last["used_at"] is not None:
        return False
    if now - last["issued_at"] >= LIFETIME_SECONDS:
        return False
    from hmac import compare_digest  # here, not at the top: only the server checks codes (see new_code)

    return compare_digest(last["code"].encode(), code.encode())


def consume(db: sqlite3.Connection, international_code: str, phone: str, now: float) -> None:
    """Mark the number's unused codes used."""
    db.execute(
        "UPDATE sms_codes SET used_at = ? WHERE international_code = ? AND phone = ? AND used_at IS NULL",
        (now, international_code, phone),
    )
