"""The reference implementation of PUT /v2/enduser/enduserapi/setPhone as a WSGI app.

Each step of a request is a small method of `SetPhoneService`, so that a broken
variant is the service plus one mixin overriding one step (see `create_app`).
"""

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from . import codes, storage

log = logging.getLogger(__name__)

PATH = "/v2/enduser/enduserapi/setPhone"
METHOD = "PUT"

SUCCESS = 200
TOKEN_FAILED = 5032
USER_NOT_FOUND = 5033
MISSING_OLD_INTERNATIONAL_CODE = 5162
MISSING_OLD_PHONE = 5163
MISSING_OLD_PHONE_CODE = 5164
MISSING_NEW_INTERNATIONAL_CODE = 5165
MISSING_NEW_PHONE = 5166
MISSING_NEW_PHONE_CODE = 5167
OLD_CODE_FAILED = 5168
NEW_CODE_FAILED = 5169
CHANGE_FAILED = 5170
OLD_PHONE_INCORRECT = 5174
NEW_PHONE_CANCELLING = 5175
NEW_PHONE_REGISTERED = 5176

# The English descriptions of the endpoint's documented codes.
MESSAGES = {
    SUCCESS: "User phone number modified successfully",
    TOKEN_FAILED: "Token verification failed",
    USER_NOT_FOUND: "User does not exist",
    MISSING_OLD_INTERNATIONAL_CODE: "Please enter original phone number international code",
    MISSING_OLD_PHONE: "Please enter original phone number",
    MISSING_OLD_PHONE_CODE: "Please enter verification code received by original phone",
    MISSING_NEW_INTERNATIONAL_CODE: "Please enter new phone number international code",
    MISSING_NEW_PHONE: "Please enter new phone number",
    MISSING_NEW_PHONE_CODE: "Please enter verification code received by new phone",
    OLD_CODE_FAILED: "Original phone number verification failed",
    NEW_CODE_FAILED: "New phone number verification failed",
    CHANGE_FAILED: "User phone number modification failed",
    OLD_PHONE_INCORRECT: "Original phone number is incorrect",
    NEW_PHONE_CANCELLING: (
        "New phone number is in 7-day cancellation status, cannot be used as replacement phone number"
    ),
    NEW_PHONE_REGISTERED: "New phone number already registered",
}

CANCELLATION_SECONDS = 7 * 24 * 60 * 60


@dataclass
class Call:
    """What one request to setPhone carries through the steps."""

    request: Request
    db: sqlite3.Connection
    now: float
    token: str | None
    params: dict[str, str | None]
    user_id: int | None = None


class SetPhoneService:
    """WSGI app answering setPhone; every step is a method a defect mixin may override.

    Steps named `check_*`, `verify_*`, `authenticate` and `missing_parameter` return
    None to go on, or the code to answer with (200 included) to stop there.
    """

    TOKEN_HEADER = "Authorization"
    # Query parameters in documented order, with the code answering their absence.
    REQUIRED_PARAMS = (
        ("oldInternationalCode", MISSING_OLD_INTERNATIONAL_CODE),
        ("oldPhone", MISSING_OLD_PHONE),
        ("oldPhoneCode", MISSING_OLD_PHONE_CODE),
        ("newInternationalCode", MISSING_NEW_INTERNATIONAL_CODE),
        ("newPhone", MISSING_NEW_PHONE),
        ("newPhoneCode", MISSING_NEW_PHONE_CODE),
    )
    # Business checks, in order, inside the transaction: names of step methods.
    CHECKS = (
        "check_original_phone",
        "check_new_phone_cancelling",
        "check_new_phone_registered",
        "verify_old_code",
        "verify_new_code",
    )

    def __init__(
        self,
        database: str | os.PathLike,
        clock: Callable[[], float] = time.time,
        code_rules: codes.CodeRules | None = None,
    ):
        self.database = database
        self.clock = clock
        self.code_rules = code_rules  # None: the reference's rules (5 minutes, used once by a successful change)
        # Connections kept between requests, each used by one request at a time: opening SQLite for each request
        # (the file, its locks, the WAL index's mapping) cost more than the request's own statements.
        self._idle: list[sqlite3.Connection] = []
        self._idle_lock = threading.Lock()

    # --- WSGI and routing -------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except Exception:
            log.exception("setPhone failed outside the business steps")
            response = self.respond(self.envelope(CHANGE_FAILED))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path != PATH:
            return self.not_found()
        if request.method != METHOD:
            return self.method_not_allowed()
        return self.respond(self.envelope(self.handle(request)))

    def not_found(self) -> Response:
        body = {"code": 404, "msg": "Not Found", "data": None, "extMsg": None}
        return self.respond(body, status=404)

    def method_not_allowed(self) -> Response:
        body = {"code": 405, "msg": "Method Not Allowed", "data": None, "extMsg": None}
        return self.respond(body, status=405, headers={"Allow": METHOD})

    # --- the request, step by step ----------------------------------------------

    def handle(self, request: Request) -> int:
        """Run the steps; the code to answer with."""
        try:
            db = self.connect()
        except sqlite3.Error:
            log.exception("cannot open %s", self.database)
            return CHANGE_FAILED
        try:
            call = Call(
                request=request,
                db=db,
                now=self.now(),
                token=self.read_token(request),
                params=self.read_params(request),
            )
            code = self.authenticate(call)
            if code is None:
                code = self.missing_parameter(call.params)
            if code is None:
                code = self.change_in_transaction(call)
            return code
        except Exception:
            log.exception("setPhone failed")
            return CHANGE_FAILED
        finally:
            self.release(db)

    def connect(self) -> sqlite3.Connection:
        """A connection to the database: one an earlier request left, else a new one."""
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        return storage.connect(self.database)

    def release(self, db: sqlite3.Connection) -> None:
        """The request is done with db: kept for the next one, outside any transaction (closed if it cannot be)."""
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.Error:
            db.close()
            return
        with self._idle_lock:
            self._idle.append(db)

    def close(self) -> None:
        """Close the kept connections (the server stops)."""
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    def now(self) -> float:
        return self.clock()

    def read_token(self, request: Request) -> str | None:
        """The header value as sent (`Bearer ...`); None when absent or empty."""
        return request.headers.get(self.TOKEN_HEADER) or None

    def read_params(self, request: Request) -> dict[str, str | None]:
        return {name: request.args.get(name) for name, _ in self.REQUIRED_PARAMS}

    def authenticate(self, call: Call) -> int | None:
        """5032 for a missing or unknown token, 5033 if its user is gone; else sets user_id."""
        if call.token is None:
            return TOKEN_FAILED
        owner = self.token_owner(call.db, call.token)
        if owner is None:
            return TOKEN_FAILED
        if not self.user_exists(call.db, owner, call.now):
            return USER_NOT_FOUND
        call.user_id = owner
        return None

    def token_owner(self, db: sqlite3.Connection, token: str) -> int | None:
        row = db.execute("SELECT user_id FROM tokens WHERE token = ?", (token,)).fetchone()
        return None if row is None else row["user_id"]

    def user_exists(self, db: sqlite3.Connection, user_id: int, now: float) -> bool:
        """An account whose deletion was requested 7 days ago or more is gone."""
        row = db.execute(
            "SELECT 1 FROM users WHERE id = ? AND (deletion_requested_at IS NULL OR deletion_requested_at > ?)",
            (user_id, now - CANCELLATION_SECONDS),
        ).fetchone()
        return row is not None

    def missing_parameter(self, params: dict[str, str | None]) -> int | None:
        """The code of the first missing or blank parameter, in documented order."""
        for name, code in self.REQUIRED_PARAMS:
            if self.is_blank(params.get(name)):
                return code
        return None

    def is_blank(self, value: str | None) -> bool:
        return value is None or not value.strip()

    def change_in_transaction(self, call: Call) -> int:
        """Checks and change in one write transaction, so two requests cannot both
        take the same number."""
        call.db.execute("BEGIN IMMEDIATE")
        try:
            self.purge_gone_accounts(call)
            code = self.run_checks(call)
            if code is None:
                self.change_phone(call)
                code = SUCCESS
                call.db.execute("COMMIT")
            else:
                call.db.execute("ROLLBACK")
            return code
        except sqlite3.Error as error:
            if call.db.in_transaction:
                call.db.execute("ROLLBACK")
            return self.storage_error(error)

    def run_checks(self, call: Call) -> int | None:
        for name in self.CHECKS:
            code = getattr(self, name)(call)
            if code is not None:
                return code
        return None

    def storage_error(self, error: sqlite3.Error) -> int:
        """5176 when the unique index on the phone refused the change (a lost race)."""
        if isinstance(error, sqlite3.IntegrityError) and "users.phone" in str(error):
            return NEW_PHONE_REGISTERED
        log.error("storage failed during setPhone: %s", error)
        return CHANGE_FAILED

    def purge_gone_accounts(self, call: Call) -> None:
        """Delete accounts whose 7 days of cancellation are over: their numbers are free."""
        call.db.execute(
            "DELETE FROM users WHERE deletion_requested_at <= ?",
            (call.now - CANCELLATION_SECONDS,),
        )

    def phone_holder(self, call: Call, international_code: str, phone: str) -> sqlite3.Row | None:
        return call.db.execute(
            "SELECT id, deletion_requested_at FROM users WHERE international_code = ? AND phone = ?",
            (international_code, phone),
        ).fetchone()

    def check_original_phone(self, call: Call) -> int | None:
        """5174 unless the old number is the account's."""
        p = call.params
        holder = self.phone_holder(call, p["oldInternationalCode"], p["oldPhone"])
        if holder is None or holder["id"] != call.user_id:
            return OLD_PHONE_INCORRECT
        return None

    def check_new_phone_cancelling(self, call: Call) -> int | None:
        """5175 if the new number belongs to an account in its 7 days of cancellation."""
        p = call.params
        holder = self.phone_holder(call, p["newInternationalCode"], p["newPhone"])
        if holder is not None and holder["deletion_requested_at"] is not None:
            return NEW_PHONE_CANCELLING
        return None

    def check_new_phone_registered(self, call: Call) -> int | None:
        """5176 if any account (this one included) holds the new number."""
        p = call.params
        if self.phone_holder(call, p["newInternationalCode"], p["newPhone"]) is not None:
            return NEW_PHONE_REGISTERED
        return None

    def verify_old_code(self, call: Call) -> int | None:
        p = call.params
        if not self.verify_code(call, p["oldInternationalCode"], p["oldPhone"], p["oldPhoneCode"]):
            return OLD_CODE_FAILED
        return None

    def verify_new_code(self, call: Call) -> int | None:
        p = call.params
        if not self.verify_code(call, p["newInternationalCode"], p["newPhone"], p["newPhoneCode"]):
            return NEW_CODE_FAILED
        return None

    def verify_code(self, call: Call, international_code: str, phone: str, code: str) -> bool:
        return codes.is_valid(call.db, international_code, phone, code, call.now, self.code_rules)

    def change_phone(self, call: Call) -> None:
        self.update_phone(call)
        self.consume_codes(call)

    def update_phone(self, call: Call) -> None:
        p = call.params
        call.db.execute(
            "UPDATE users SET international_code = ?, phone = ? WHERE id = ?",
            (p["newInternationalCode"], p["newPhone"], call.user_id),
        )

    def consume_codes(self, call: Call) -> None:
        p = call.params
        codes.consume(call.db, p["oldInternationalCode"], p["oldPhone"], call.now)
        codes.consume(call.db, p["newInternationalCode"], p["newPhone"], call.now)

    # --- the answer ---------------------------------------------------------------

    def message(self, code: int) -> str:
        return MESSAGES.get(code, "")

    def envelope(self, code: int) -> dict:
        return {"code": code, "msg": self.message(code), "data": None, "extMsg": None}

    def content_type(self) -> str:
        return "application/json"

    def serialize(self, envelope: dict) -> bytes:
        return json.dumps(envelope).encode("utf-8")

    def respond(self, envelope: dict, status: int = 200, headers: dict | None = None) -> Response:
        return Response(
            self.serialize(envelope),
            status=status,
            headers=headers,
            content_type=self.content_type(),
        )


class SimulatedStorageFailure:
    """Fail every otherwise valid change at the write, as a broken disk would (shows 5170)."""

    def update_phone(self, call: Call) -> None:
        raise sqlite3.OperationalError("simulated storage failure")


def create_app(config: dict) -> SetPhoneService:
    """The setPhone WSGI app.

    Config: DATABASE (path; created, schema applied and seeded if new), CLOCK (callable
    returning epoch seconds, default time.time), DEFECTS (mixin classes put before
    SetPhoneService, first wins; default none), CODE_RULES (a codes.CodeRules: a platform's stricter
    SMS-code rules; default the reference's).
    """
    try:
        database = config["DATABASE"]
    except KeyError:
        raise ValueError("create_app needs config['DATABASE'], the SQLite file path") from None
    clock = config.get("CLOCK", time.time)
    defects = tuple(config.get("DEFECTS", ()))
    service_class = type("Variant", (*defects, SetPhoneService), {}) if defects else SetPhoneService
    storage.ensure_database(database, clock)
    return service_class(database, clock, config.get("CODE_RULES"))
