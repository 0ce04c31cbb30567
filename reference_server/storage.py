"""SQLite access: one connection per request, schema and seed applied once to a new file."""

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from . import seed

SCHEMA = Path(__file__).with_name("schema.sql")
BUSY_TIMEOUT_SECONDS = 10.0
SCHEMA_VERSION = 1


def connect(path: str | os.PathLike) -> sqlite3.Connection:
    """Open `path` in autocommit mode: transactions are begun explicitly."""
    db = sqlite3.connect(os.fspath(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    return db


def _statements(script: str):
    """Split an SQL script into statements, so they can run inside one transaction
    (executescript would commit first)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    leftover = [line for line in pending.splitlines() if line.strip() and not line.lstrip().startswith("--")]
    if leftover:
        raise ValueError(f"incomplete SQL statement at the end of {SCHEMA.name}: {pending!r}")


def ensure_database(path: str | os.PathLike, clock: Callable[[], float]) -> bool:
    """Create the schema and seed `path` unless done before; True if this call did it."""
    db = connect(path)
    try:
        # journal_mode cannot change inside a transaction; it persists in the file.
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                db.execute("ROLLBACK")
                return False
            for statement in _statements(SCHEMA.read_text(encoding="utf-8")):
                db.execute(statement)
            seed.seed(db, clock())
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
            return True
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    finally:
        db.close()
