"""SQLite access: connections for the service's requests, schema and seed applied once to a new file."""

import os
import sqlite3
from collections.abc import Callable

from . import seed

# os.path, not pathlib: `issue-code` imports this module once per SMS code, and pathlib costs it a few ms
SCHEMA = os.path.join(os.path.dirname(__file__), "schema.sql")
BUSY_TIMEOUT_SECONDS = 10.0
SCHEMA_VERSION = 1


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


def connect(path: str | os.PathLike) -> sqlite3.Connection:
    """Open `path` in autocommit mode: transactions are begun explicitly. The service keeps a connection between
    requests, each handled on a thread of its own: one request at a time uses it, from whichever thread."""
    db = sqlite3.connect(os.fspath(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
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
        raise ValueError(f"incomplete SQL statement at the end of {os.path.basename(SCHEMA)}: {pending!r}")


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
            for statement in _statements(_read(SCHEMA)):
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
