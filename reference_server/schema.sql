-- Storage of the reference setPhone server. Applied once, when the database is new.

CREATE TABLE users (
    id                    INTEGER PRIMARY KEY,
    international_code    TEXT NOT NULL,
    phone                 TEXT NOT NULL,
    -- epoch seconds; NULL unless the owner asked for the delayed (7-day) deletion
    deletion_requested_at REAL
);

CREATE UNIQUE INDEX users_phone ON users (international_code, phone);

-- No foreign key on purpose: a token may outlive its user (answered with 5033).
CREATE TABLE tokens (
    token   TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL
);

-- Every code ever issued; only the newest one per number can be valid.
CREATE TABLE sms_codes (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    international_code TEXT NOT NULL,
    phone              TEXT NOT NULL,
    code               TEXT NOT NULL,
    issued_at          REAL NOT NULL,
    used_at            REAL
);

CREATE INDEX sms_codes_number ON sms_codes (international_code, phone, id);
