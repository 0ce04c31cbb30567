"""Seed data of a new reference-server database (the numbers profiles/reference.toml names)."""

import sqlite3

DAY = 24 * 60 * 60

INTERNATIONAL_CODE = "86"

ACCOUNT_PHONE = "13800000001"
FREE_PHONE = "13800000002"  # nobody holds it
REGISTERED_PHONE = "13800000003"
CANCELLING_PHONE = "13800000004"

VALID_TOKEN = "Bearer ref-valid-5d1f0c7a9b3e"
OTHER_TOKEN = "Bearer ref-other-2a8e6c4f0d1b"
CANCELLING_TOKEN = "Bearer ref-cancelling-9e3b7d5a1c2f"
ORPHAN_TOKEN = "Bearer ref-orphan-4c6a2e8f0b9d"
ORPHAN_USER_ID = 9999  # no such user

# Accounts for the concurrency test: (token, phone), all with international code 86.
RACERS = tuple((f"Bearer ref-racer-{n:02d}", f"139000000{n:02d}") for n in range(1, 21))

# The account in cancellation asked for its deletion this long before seeding.
CANCELLATION_REQUESTED_BEFORE_SEEDING = DAY


def seed(db: sqlite3.Connection, now: float) -> None:
    """Insert the seed rows; `now` is the seeding time in epoch seconds."""
    users = [
        (1, INTERNATIONAL_CODE, ACCOUNT_PHONE, None),
        (2, INTERNATIONAL_CODE, REGISTERED_PHONE, None),
        (3, INTERNATIONAL_CODE, CANCELLING_PHONE, now - CANCELLATION_REQUESTED_BEFORE_SEEDING),
    ]
    tokens = [
        (VALID_TOKEN, 1),
        (OTHER_TOKEN, 2),
        (CANCELLING_TOKEN, 3),
        (ORPHAN_TOKEN, ORPHAN_USER_ID),
    ]
    for offset, (token, phone) in enumerate(RACERS):
        user_id = 101 + offset
        users.append((user_id, INTERNATIONAL_CODE, phone, None))
        tokens.append((token, user_id))
    db.executemany(
        "INSERT INTO users (id, international_code, phone, deletion_requested_at) VALUES (?, ?, ?, ?)",
        users,
    )
    db.executemany("INSERT INTO tokens (token, user_id) VALUES (?, ?)", tokens)
