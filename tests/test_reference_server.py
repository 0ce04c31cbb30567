"""Self-tests of the reference setPhone server: every rule of the page, its CLI, the
embedded runner, the defect mechanism, and races: for one free number, and one change sent at once."""

import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from werkzeug.test import Client

import reference_server.__main__ as cli
import reference_server.app as server_app
from contract_suite.openapi import spec
from reference_server import SetPhoneService, create_app, issue_code, seed, start_embedded, storage
from reference_server.codes import CodeRules
from reference_server.embedded import ServerNotReady, wait_for_port

pytestmark = pytest.mark.selftest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROFILE = PROJECT_ROOT / "profiles" / "reference.toml"
ENDPOINT = "/v2/enduser/enduserapi/setPhone"
DAY = 24 * 60 * 60
START = 1_750_000_000.0

# Every business code and message comes from spec/openapi.yaml (x-business-codes), by name.
CONTRACT = spec.load(spec.DEFAULT_SPEC)
SUCCESS = CONTRACT.success_code
TOKEN_FAILED = CONTRACT.code_named("token-verification-failed")
USER_GONE = CONTRACT.code_named("user-does-not-exist")
MISSING_OLD_INTERNATIONAL_CODE = CONTRACT.code_named("missing-old-international-code")
MISSING_NEW_PHONE_CODE = CONTRACT.code_named("missing-new-phone-code")
OLD_CODE_FAILED = CONTRACT.code_named("old-phone-verification-failed")
NEW_CODE_FAILED = CONTRACT.code_named("new-phone-verification-failed")
CHANGE_FAILED = CONTRACT.code_named("modification-failed")
OLD_PHONE_INCORRECT = CONTRACT.code_named("old-phone-incorrect")
CANCELLING = CONTRACT.code_named("new-phone-in-cancellation")
REGISTERED = CONTRACT.code_named("new-phone-registered")

# Query parameters in documented order, with the code their absence must give.
REQUIRED = list(CONTRACT.missing_codes.items())
ABSENT = [("missing", None), ("empty", ""), ("blank", "  \t")]


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: float = START):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Api:
    """The endpoint through werkzeug's test client, with the seed data and the clock."""

    def __init__(self, db_path: Path, clock: Callable[[], float], profile: dict, defects=()):
        self.db_path = db_path
        self.clock = clock
        self.profile = profile
        self.app = create_app({"DATABASE": db_path, "CLOCK": clock, "DEFECTS": defects})
        self.client = Client(self.app)
        self.account = profile["account"]
        self.token = profile["tokens"]["valid"]

    def number(self, name: str) -> dict:
        return self.account if name == "account" else self.profile["phones"][name]

    def issue(self, number: dict) -> str:
        return issue_code(self.db_path, number["international_code"], number["phone"], self.clock)

    def params(
        self,
        new: dict,
        old: dict | None = None,
        old_code: str | None = None,
        new_code: str | None = None,
    ) -> dict:
        """A change from `old` (default: the account's number) to `new`; codes not given
        are issued now."""
        old = old or self.account
        return {
            "oldInternationalCode": old["international_code"],
            "oldPhone": old["phone"],
            "oldPhoneCode": old_code or self.issue(old),
            "newInternationalCode": new["international_code"],
            "newPhone": new["phone"],
            "newPhoneCode": new_code or self.issue(new),
        }

    def put(self, params: dict | None = None, token: str | None = "valid"):
        token = self.token if token == "valid" else token
        headers = {} if token is None else {self.profile["target"]["token_header"]: token}
        return self.client.put(ENDPOINT, query_string=params or {}, headers=headers)

    def phone_of(self, token: str) -> tuple[str, str] | None:
        return phone_of(self.db_path, token)


def phone_of(db_path: Path, token: str) -> tuple[str, str] | None:
    with sqlite3.connect(db_path) as db:
        row = db.execute(
            "SELECT users.international_code, users.phone FROM users"
            " JOIN tokens ON tokens.user_id = users.id WHERE tokens.token = ?",
            (token,),
        ).fetchone()
    return row


def assert_answer(response, code: int) -> None:
    """HTTP 200, JSON, and exactly the documented envelope for `code`."""
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    assert (response.status_code, body) == (
        200,
        {"code": code, "msg": CONTRACT.message(code), "data": None, "extMsg": None},
    )
    assert response.headers["Content-Type"] == "application/json"


def wrong(code: str) -> str:
    """Another 6-digit code than `code`."""
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture(scope="module")
def profile() -> dict:
    with PROFILE.open("rb") as file:
        return tomllib.load(file)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "reference.sqlite3"


@pytest.fixture
def make_api(db_path, clock, profile):
    def make(*defects) -> Api:
        return Api(db_path, clock, profile, defects)

    return make


@pytest.fixture
def api(make_api) -> Api:
    return make_api()


# --- seed data and storage -----------------------------------------------------------


def test_profile_names_the_seeded_data(profile):
    ic = seed.INTERNATIONAL_CODE
    assert profile["tokens"] == {"valid": seed.VALID_TOKEN, "orphan": seed.ORPHAN_TOKEN}
    assert profile["account"] == {"international_code": ic, "phone": seed.ACCOUNT_PHONE}
    assert profile["phones"] == {
        "free": {"international_code": ic, "phone": seed.FREE_PHONE},
        "registered": {"international_code": ic, "phone": seed.REGISTERED_PHONE},
        "cancelling": {"international_code": ic, "phone": seed.CANCELLING_PHONE},
    }
    assert profile["target"] == {"token_header": "Authorization"}
    assert profile["codes"]["command"].startswith("python -m reference_server issue-code ")


def test_new_database_is_seeded_in_wal_mode(api, profile):
    assert api.phone_of(profile["tokens"]["valid"]) == ("86", profile["account"]["phone"])
    assert api.phone_of(profile["tokens"]["orphan"]) is None
    with sqlite3.connect(api.db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT count(*) FROM users").fetchone() == (3 + len(seed.RACERS),)


def test_existing_database_is_not_seeded_again(api, profile, clock):
    free = profile["phones"]["free"]
    assert_answer(api.put(api.params(new=free)), SUCCESS)
    again = Api(api.db_path, clock, profile)
    assert again.phone_of(profile["tokens"]["valid"]) == ("86", free["phone"])


def test_create_app_needs_a_database():
    with pytest.raises(ValueError, match="DATABASE"):
        create_app({})


# --- success ------------------------------------------------------------------------------


def test_change_to_a_free_number_moves_it_to_the_account(api, profile):
    free = profile["phones"]["free"]
    assert_answer(api.put(api.params(new=free)), SUCCESS)
    assert api.phone_of(profile["tokens"]["valid"]) == ("86", free["phone"])


def test_old_number_is_free_after_the_change(api, profile):
    free, account = profile["phones"]["free"], profile["account"]
    assert_answer(api.put(api.params(new=free)), SUCCESS)
    assert_answer(api.put(api.params(new=account, old=free)), SUCCESS)
    assert api.phone_of(profile["tokens"]["valid"]) == ("86", account["phone"])


# --- token ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param(None, TOKEN_FAILED, id="no-token"),
        pytest.param("", TOKEN_FAILED, id="empty-token"),
        pytest.param("Bearer ref-unknown", TOKEN_FAILED, id="unknown-token"),
        pytest.param("orphan", USER_GONE, id="orphan-token"),
    ],
)
def test_token(api, profile, token, code):
    token = profile["tokens"].get(token, token)
    assert_answer(api.put(api.params(new=profile["phones"]["free"]), token=token), code)


def test_token_is_the_whole_header_value(api, profile):
    bare = profile["tokens"]["valid"].removeprefix("Bearer ")
    assert_answer(api.put(api.params(new=profile["phones"]["free"]), token=bare), TOKEN_FAILED)


def test_token_of_an_account_gone_after_7_days_is_5033(api, profile, clock):
    clock.advance(6 * DAY)  # deletion was requested a day before seeding
    params = api.params(new=profile["phones"]["free"], old=profile["phones"]["cancelling"])
    assert_answer(api.put(params, token=seed.CANCELLING_TOKEN), USER_GONE)


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param(None, TOKEN_FAILED, id="no-token"),
        pytest.param("orphan", USER_GONE, id="orphan-token"),
    ],
)
def test_token_is_checked_before_parameters(api, profile, token, code):
    assert_answer(api.put({}, token=profile["tokens"].get(token, token)), code)


# --- required parameters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "value"),
    [pytest.param(name, code, value, id=f"{kind}-{name}") for name, code in REQUIRED for kind, value in ABSENT],
)
def test_required_parameter(api, profile, name, code, value):
    params = api.params(new=profile["phones"]["free"])
    if value is None:
        del params[name]
    else:
        params[name] = value
    assert_answer(api.put(params), code)


@pytest.mark.parametrize(
    ("position", "code"),
    [pytest.param(i, code, id=f"first-missing-{name}") for i, (name, code) in enumerate(REQUIRED)],
)
def test_first_missing_parameter_in_documented_order_wins(api, profile, position, code):
    params = api.params(new=profile["phones"]["free"])
    for name, _ in REQUIRED[position:]:
        del params[name]
    assert_answer(api.put(params), code)


def test_missing_parameter_comes_before_business_checks(api, profile):
    params = api.params(new=profile["phones"]["registered"], old=profile["phones"]["free"])
    del params["newPhoneCode"]
    assert_answer(api.put(params), MISSING_NEW_PHONE_CODE)


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "international_code"),
    [
        pytest.param("registered", None, id="another-accounts-number"),
        pytest.param("free", None, id="nobodys-number"),
        pytest.param("account", "1", id="own-phone-other-international-code"),
    ],
)
def test_original_number_not_the_accounts_is_5174(api, profile, old, international_code):
    old = dict(api.number(old))
    if international_code:
        old["international_code"] = international_code
    params = api.params(new=profile["phones"]["free"], old=old)
    assert_answer(api.put(params), OLD_PHONE_INCORRECT)


def test_new_number_in_cancellation_is_5175(api, profile):
    assert_answer(api.put(api.params(new=profile["phones"]["cancelling"])), CANCELLING)


@pytest.mark.parametrize(
    ("days", "code"),
    [
        pytest.param(6, CANCELLING, id="day-6"),
        pytest.param(7, SUCCESS, id="day-7"),
        pytest.param(8, SUCCESS, id="day-8"),
    ],
)
def test_cancellation_blocks_the_number_for_7_days(api, profile, clock, days, code):
    cancelling = profile["phones"]["cancelling"]
    clock.advance((days - 1) * DAY)  # deletion was requested a day before seeding
    assert_answer(api.put(api.params(new=cancelling)), code)
    if code == SUCCESS:
        assert api.phone_of(profile["tokens"]["valid"]) == ("86", cancelling["phone"])


@pytest.mark.parametrize("new", ["registered", "account"], ids=["another-accounts", "own"])
def test_registered_new_number_is_5176(api, new):
    assert_answer(api.put(api.params(new=api.number(new))), REGISTERED)


@pytest.mark.parametrize("taken", ["registered", "cancelling"])
def test_the_same_digits_under_another_international_code_are_free(api, profile, taken):
    """The registration and cancellation checks compare the international code with the digits."""
    elsewhere = dict(profile["phones"][taken], international_code="852")
    assert_answer(api.put(api.params(new=elsewhere)), SUCCESS)
    assert api.phone_of(profile["tokens"]["valid"]) == ("852", elsewhere["phone"])


# --- verification codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "code"),
    [("oldPhoneCode", OLD_CODE_FAILED), ("newPhoneCode", NEW_CODE_FAILED)],
    ids=["old", "new"],
)
def test_wrong_code_fails_verification(api, profile, which, code):
    params = api.params(new=profile["phones"]["free"])
    params[which] = wrong(params[which])
    assert_answer(api.put(params), code)


@pytest.mark.parametrize(("which", "code"), [("old", OLD_CODE_FAILED), ("new", NEW_CODE_FAILED)], ids=["old", "new"])
def test_code_never_issued_fails_verification(api, profile, which, code):
    params = api.params(new=profile["phones"]["free"], **{f"{which}_code": "123456"})
    assert_answer(api.put(params), code)


@pytest.mark.parametrize(
    ("which", "age", "code"),
    [
        pytest.param("old", 299, SUCCESS, id="old-299s"),
        pytest.param("old", 300, OLD_CODE_FAILED, id="old-300s"),
        pytest.param("new", 299, SUCCESS, id="new-299s"),
        pytest.param("new", 300, NEW_CODE_FAILED, id="new-300s"),
    ],
)
def test_code_expires_after_300_seconds(api, profile, clock, which, age, code):
    numbers = {"old": profile["account"], "new": profile["phones"]["free"]}
    aged = api.issue(numbers[which])
    clock.advance(age)
    params = api.params(new=numbers["new"], **{f"{which}_code": aged})
    assert_answer(api.put(params), code)


@pytest.mark.parametrize(("which", "code"), [("old", OLD_CODE_FAILED), ("new", NEW_CODE_FAILED)], ids=["old", "new"])
def test_only_the_last_issued_code_is_valid(api, profile, which, code):
    number = profile["account"] if which == "old" else profile["phones"]["free"]
    earlier = api.issue(number)
    params = api.params(new=profile["phones"]["free"])
    while params[f"{which}PhoneCode"] == earlier:  # one chance in a million
        params[f"{which}PhoneCode"] = api.issue(number)
    last = params[f"{which}PhoneCode"]
    params[f"{which}PhoneCode"] = earlier
    assert_answer(api.put(params), code)
    params[f"{which}PhoneCode"] = last
    assert_answer(api.put(params), SUCCESS)


@pytest.mark.parametrize(("which", "code"), [("old", OLD_CODE_FAILED), ("new", NEW_CODE_FAILED)], ids=["old", "new"])
def test_a_code_verifies_only_its_own_number(api, profile, which, code):
    """The other number's valid code, unused and the last it was sent, is a wrong code for this one."""
    params = api.params(new=profile["phones"]["free"])
    other = {"old": "new", "new": "old"}[which]
    while params["oldPhoneCode"] == params["newPhoneCode"]:  # one chance in a million
        params["newPhoneCode"] = api.issue(profile["phones"]["free"])
    params[f"{which}PhoneCode"] = params[f"{other}PhoneCode"]
    assert_answer(api.put(params), code)


def test_codes_are_used_once(api, profile):
    free, account = profile["phones"]["free"], profile["account"]
    first = api.params(new=free)
    assert_answer(api.put(first), SUCCESS)
    back = api.params(new=account, old=free)
    # the code used for the new number cannot verify it again as the original number
    assert_answer(api.put(back | {"oldPhoneCode": first["newPhoneCode"]}), OLD_CODE_FAILED)
    # the code used for the original number cannot verify it as the new number
    assert_answer(api.put(back | {"newPhoneCode": first["oldPhoneCode"]}), NEW_CODE_FAILED)


def test_failed_change_does_not_use_the_codes(api, profile):
    params = api.params(new=profile["phones"]["free"])
    wrong_new_code = {"newPhoneCode": wrong(params["newPhoneCode"])}
    assert_answer(api.put(params | wrong_new_code), NEW_CODE_FAILED)
    assert_answer(api.put(params), SUCCESS)


# --- a platform's stricter SMS-code rules (the standalone server's options) ---------------------------------


def rules_api(db_path, clock, profile, **rules) -> Api:
    api = Api(db_path, clock, profile)
    api.app = create_app({"DATABASE": db_path, "CLOCK": clock, "CODE_RULES": CodeRules(**rules)})
    api.client = Client(api.app)
    return api


@pytest.mark.parametrize(("age", "code"), [(59, SUCCESS), (60, OLD_CODE_FAILED)], ids=["59s", "60s"])
def test_a_shorter_code_lifetime(db_path, clock, profile, age, code):
    api = rules_api(db_path, clock, profile, lifetime=60)
    aged = api.issue(profile["account"])
    clock.advance(age)
    assert_answer(api.put(api.params(new=profile["phones"]["free"], old_code=aged)), code)


def test_codes_spent_by_any_check_right_or_wrong(db_path, clock, profile):
    api = rules_api(db_path, clock, profile, spent_by_check=True)
    params = api.params(new=profile["phones"]["free"])
    # the original phone's code is checked (right) and the new phone's refused: both checks spend their codes
    assert_answer(api.put(params | {"newPhoneCode": wrong(params["newPhoneCode"])}), NEW_CODE_FAILED)
    assert_answer(api.put(params), OLD_CODE_FAILED)
    assert_answer(api.put(api.params(new=profile["phones"]["free"])), SUCCESS)  # fresh codes pass


def test_wrong_tries_void_the_valid_code(db_path, clock, profile):
    api = rules_api(db_path, clock, profile, wrong_tries=2)
    params = api.params(new=profile["phones"]["free"])
    assert_answer(api.put(params | {"oldPhoneCode": wrong(params["oldPhoneCode"])}), OLD_CODE_FAILED)
    assert_answer(api.put(params), SUCCESS)  # one wrong try of two: the code still verifies
    again = api.params(new=profile["account"], old=profile["phones"]["free"])
    for _ in range(2):
        assert_answer(api.put(again | {"oldPhoneCode": wrong(again["oldPhoneCode"])}), OLD_CODE_FAILED)
    assert_answer(api.put(again), OLD_CODE_FAILED)  # voided by the second wrong try


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--code-lifetime", "0"], "is not a number of seconds above 0"),
        (["--wrong-tries", "x"], "is not a whole number of 1 or more"),
    ],
)
def test_the_code_rule_options_refuse_nonsense(option, message):
    done = subprocess.run(
        [sys.executable, "-m", "reference_server", "--port", "0", *option], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


# --- order of business checks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        pytest.param(
            "registered",
            "cancelling",
            OLD_PHONE_INCORRECT,
            id="original-number-before-cancellation",
        ),
        pytest.param("account", "cancelling", CANCELLING, id="cancellation-before-codes"),
        pytest.param("account", "registered", REGISTERED, id="registration-before-codes"),
        pytest.param("account", "free", OLD_CODE_FAILED, id="old-code-before-new-code"),
    ],
)
def test_business_checks_in_order(api, old, new, code):
    params = api.params(new=api.number(new), old=api.number(old))
    params["oldPhoneCode"] = wrong(params["oldPhoneCode"])
    params["newPhoneCode"] = wrong(params["newPhoneCode"])
    assert_answer(api.put(params), code)


# --- storage failures -----------------------------------------------------------------------


class DiskFailsOnUpdate:
    """Fail the phone update with an I/O error from SQLite."""

    def update_phone(self, call):
        super().update_phone(call)
        raise sqlite3.OperationalError("disk I/O error")


class DatabaseCannotOpen:
    """Fail to open the database."""

    def connect(self):
        raise sqlite3.OperationalError("unable to open database file")


class BugInACheck:
    """Raise a programming error in the original-number check."""

    def check_original_phone(self, call):
        raise RuntimeError("a bug")


class NoAvailabilityChecks:
    """Skip the checks of the new number, as if another request took it in between."""

    CHECKS = tuple(name for name in SetPhoneService.CHECKS if not name.startswith("check_new_phone"))


@pytest.mark.parametrize("defect", [DiskFailsOnUpdate, DatabaseCannotOpen, BugInACheck])
def test_failures_answer_5170_and_change_nothing(make_api, profile, defect):
    broken = make_api(defect)
    params = broken.params(new=profile["phones"]["free"])
    assert_answer(broken.put(params), CHANGE_FAILED)
    assert broken.phone_of(profile["tokens"]["valid"]) == ("86", profile["account"]["phone"])
    assert_answer(make_api().put(params), SUCCESS)  # codes were not used


class FailsTheFirstUpdate:
    """The first phone update fails with a programming error inside its transaction (the transaction's own error
    handling leaves it open: only SQLite's errors roll back there); later ones go through."""

    failed = False

    def update_phone(self, call):
        super().update_phone(call)
        if not type(self).failed:
            type(self).failed = True
            raise RuntimeError("a bug")


def test_requests_share_kept_connections_left_outside_any_transaction(make_api, profile, monkeypatch):
    """One SQLite connection serves one request after another (opening one per request cost more than the
    request); a request that failed inside its transaction hands it on rolled back: the next change succeeds."""
    opened, connect = [], storage.connect
    service = make_api(FailsTheFirstUpdate)

    def put(params):  # the service's own opening of the database counted (not the test's issuing of codes)
        with monkeypatch.context() as patch:
            patch.setattr(storage, "connect", lambda path: opened.append(path) or connect(path))
            return service.put(params)

    free = profile["phones"]["free"]
    assert_answer(put(service.params(new=free)), CHANGE_FAILED)
    assert_answer(put(service.params(new=free)), SUCCESS)
    assert len(opened) == 1
    service.app.close()
    assert_answer(put(service.params(old=free, new=service.account)), SUCCESS)
    assert len(opened) == 2  # closed ones are not used again


def test_unique_index_refusal_is_5176(make_api, profile):
    racing = make_api(NoAvailabilityChecks)
    params = racing.params(new=profile["phones"]["registered"])
    assert_answer(racing.put(params), REGISTERED)
    assert racing.phone_of(profile["tokens"]["valid"]) == ("86", profile["account"]["phone"])


# --- other paths and methods -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/v2/enduser/enduserapi/setphone", ENDPOINT + "/x"])
def test_other_path_is_404(api, path):
    response = api.client.put(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_json() == {"code": 404, "msg": "Not Found", "data": None, "extMsg": None}


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH", "OPTIONS"])
def test_other_method_is_405(api, method):
    response = api.client.open(ENDPOINT, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "PUT"
    assert response.get_json() == {
        "code": 405,
        "msg": "Method Not Allowed",
        "data": None,
        "extMsg": None,
    }


# --- the defect mechanism ----------------------------------------------------------------------


class CodeAsString:
    """Send the envelope's code as a JSON string."""

    def envelope(self, code):
        envelope = super().envelope(code)
        envelope["code"] = str(envelope["code"])
        return envelope


class Http500OnErrors:
    """Answer error codes with HTTP 500 instead of 200."""

    def respond(self, envelope, status=200, headers=None):
        if status == 200 and envelope["code"] != server_app.SUCCESS:
            status = 500
        return super().respond(envelope, status, headers)


class MissingNewPhoneIs5167:
    """Answer 5167 when newPhone is missing."""

    REQUIRED_PARAMS = tuple(
        (name, server_app.MISSING_NEW_PHONE_CODE if name == "newPhone" else code)
        for name, code in SetPhoneService.REQUIRED_PARAMS
    )


class AnyTokenAccepted:
    """Accept any token, even none, as the first account's."""

    def authenticate(self, call):
        call.user_id = call.db.execute("SELECT min(id) FROM users").fetchone()[0]
        return None


def test_defects_are_mixed_in_before_the_service(make_api):
    app = make_api(CodeAsString, Http500OnErrors).app
    assert type(app).__mro__[:4] == (type(app), CodeAsString, Http500OnErrors, SetPhoneService)


def test_defect_code_as_string(make_api):
    response = make_api(CodeAsString).put(token=None)
    assert response.get_json()["code"] == str(TOKEN_FAILED)


def test_defect_http_500_on_errors(make_api, profile):
    broken = make_api(Http500OnErrors)
    assert broken.put(token=None).status_code == 500
    assert_answer(broken.put(broken.params(new=profile["phones"]["free"])), SUCCESS)


def test_defect_missing_new_phone_is_5167(make_api, profile):
    broken = make_api(MissingNewPhoneIs5167)
    params = broken.params(new=profile["phones"]["free"])
    del params["newPhone"]
    assert_answer(broken.put(params), MISSING_NEW_PHONE_CODE)
    del params["newPhoneCode"]
    assert_answer(broken.put(params), MISSING_NEW_PHONE_CODE)
    assert_answer(broken.put(params | {"newPhone": ""}), MISSING_NEW_PHONE_CODE)


@pytest.mark.parametrize("token", [None, "Bearer nobody", "orphan"])
def test_defect_any_token_accepted(make_api, profile, token):
    broken = make_api(AnyTokenAccepted)
    params = broken.params(new=profile["phones"]["free"])
    assert_answer(broken.put(params, token=profile["tokens"].get(token, token)), SUCCESS)


# --- command line ---------------------------------------------------------------------------------


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reference_server", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


def cli_code(db_path: Path, number: dict) -> str:
    ic, phone = number["international_code"], number["phone"]
    result = run_cli("issue-code", ic, phone, "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d{6}\n", result.stdout), f"stdout is not only a code: {result.stdout!r}"
    return result.stdout.strip()


def test_cli_issue_code_prints_only_a_code_the_server_accepts(db_path, profile):
    free, account = profile["phones"]["free"], profile["account"]
    api = Api(db_path, time.time, profile)  # the CLI issues at the real time
    params = api.params(new=free, old=account, old_code=cli_code(db_path, account), new_code=cli_code(db_path, free))
    assert_answer(api.put(params), SUCCESS)


def test_cli_database_defaults_to_the_environment_variable(tmp_path):
    db_path = tmp_path / "from-env.sqlite3"
    result = run_cli("issue-code", "86", "13800000001", env={"REFERENCE_SERVER_DB": str(db_path)})
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT code FROM sms_codes").fetchall() == [(result.stdout.strip(),)]


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["issue-code", "86", "13800000001"], id="issue-code"),
        pytest.param(["--port", "0"], id="serve"),
    ],
)
def test_cli_unusable_database_is_a_usage_error(tmp_path, args):
    result = run_cli(*args, "--db", str(tmp_path / "no-such-dir" / "db.sqlite3"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error: cannot use database" in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("args", [["--port", "65536"], ["--port", "http"], ["issue-code", "86"], ["--bogus"]])
def test_cli_bad_arguments_are_usage_errors(args):
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr.splitlines()[-1]


def read_line(stream, timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise AssertionError(f"no line from the server within {timeout} s")
    return stream.readline()


@pytest.mark.parametrize(
    "argv",
    [
        ["86", "13800000001"],
        ["86", "13800000001", "--db", "other.sqlite3"],
        ["86", "13800000001", "--db=other.sqlite3"],
        ["--db", "other.sqlite3", "86", "13800000001"],
        ["86", "--db", "other.sqlite3", "13800000001"],
        ["86", "13800000001", "--db", "--other"],
        ["86"],
        ["-h"],
    ],
)
def test_issue_codes_plain_arguments_read_as_argparse_reads_them(argv):
    """issue-code reads its plain form without argparse (it starts once per SMS code); what it reads must be what
    argparse reads, and any other form is left to argparse."""
    plain = cli.plain_issue_args(argv)
    try:
        args = cli.issue_parser().parse_args(argv)
    except SystemExit:
        assert plain is None
        return
    assert plain in (None, (args.international_code, args.phone, args.db))
    if len(argv) in (2, 4) and not argv[0].startswith("-") and "--db" not in argv[:2]:
        assert plain is not None  # the forms the profiles write take the quick path


def test_cli_serves_on_the_port_it_prints_until_interrupted(db_path, profile):
    server = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--port", "0", "--db", str(db_path)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = read_line(server.stdout, timeout=15).strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        wait_for_port("127.0.0.1", int(base_url.rsplit(":", 1)[1]))
        response = requests.put(base_url + ENDPOINT, headers={"Authorization": profile["tokens"]["valid"]}, timeout=5)
        assert_answer(response, MISSING_OLD_INTERNATIONAL_CODE)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 0
        assert "Traceback" not in server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()
        server.stderr.close()


# --- embedded server ---------------------------------------------------------------------------


def test_embedded_server_answers_then_stops(api):
    with start_embedded(api.app) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert_answer(requests.put(server.base_url + ENDPOINT, timeout=5), TOKEN_FAILED)
    with pytest.raises(requests.ConnectionError):
        requests.put(server.base_url + ENDPOINT, timeout=5)
    server.stop()  # a second stop does nothing


def test_readiness_error_names_the_address_and_the_time_waited():
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServerNotReady, match=rf"127\.0\.0\.1:{port} .* after 0\.\d s"):
        wait_for_port("127.0.0.1", port, timeout=0.2)


# --- concurrency ---------------------------------------------------------------------------------


def race_round(db_path: Path, free: dict) -> Counter:
    """All racer accounts ask for the same free number at once; the answers' codes."""
    app = create_app({"DATABASE": db_path})
    new_code = issue_code(db_path, free["international_code"], free["phone"])
    requests_params = [
        {
            "oldInternationalCode": seed.INTERNATIONAL_CODE,
            "oldPhone": phone,
            "oldPhoneCode": issue_code(db_path, seed.INTERNATIONAL_CODE, phone),
            "newInternationalCode": free["international_code"],
            "newPhone": free["phone"],
            "newPhoneCode": new_code,
        }
        for _, phone in seed.RACERS
    ]
    start = threading.Barrier(len(seed.RACERS))

    def race(token_and_params):
        token, params = token_and_params
        start.wait(timeout=10)
        response = requests.put(server.base_url + ENDPOINT, params=params, headers={"Authorization": token}, timeout=30)
        assert response.status_code == 200
        return response.json()["code"]

    with start_embedded(app) as server, ThreadPoolExecutor(len(seed.RACERS)) as pool:
        tokens = [token for token, _ in seed.RACERS]
        return Counter(pool.map(race, zip(tokens, requests_params, strict=True)))


def test_racers_for_one_free_number_exactly_one_wins(tmp_path, profile):
    free = profile["phones"]["free"]
    for round_number in range(20):
        db_path = tmp_path / f"race-{round_number}.sqlite3"
        answers = race_round(db_path, free)
        assert answers[SUCCESS] == 1 and set(answers) <= {SUCCESS, CHANGE_FAILED, REGISTERED}, (
            f"round {round_number}: expected one {SUCCESS} and the rest"
            f" {REGISTERED}/{CHANGE_FAILED}, got {dict(answers)}"
        )
        with sqlite3.connect(db_path) as db:
            duplicates = db.execute(
                "SELECT international_code, phone FROM users GROUP BY international_code, phone HAVING count(*) > 1"
            ).fetchall()
            holders = db.execute(
                "SELECT count(*) FROM users WHERE international_code = ? AND phone = ?",
                (free["international_code"], free["phone"]),
            ).fetchone()[0]
            racers_with_a_phone = db.execute(
                "SELECT count(*) FROM tokens JOIN users ON users.id = tokens.user_id"
                " WHERE tokens.token LIKE 'Bearer ref-racer-%' AND users.phone != ''"
            ).fetchone()[0]
        assert duplicates == []
        assert holders == 1
        assert racers_with_a_phone == len(seed.RACERS)


def same_change_round(db_path: Path, profile: dict, copies: int) -> Counter:
    """The account's change to the free number, with one pair of codes, sent `copies` times at once; the codes."""
    account, free = profile["account"], profile["phones"]["free"]
    params = {
        "oldInternationalCode": account["international_code"],
        "oldPhone": account["phone"],
        "oldPhoneCode": issue_code(db_path, account["international_code"], account["phone"]),
        "newInternationalCode": free["international_code"],
        "newPhone": free["phone"],
        "newPhoneCode": issue_code(db_path, free["international_code"], free["phone"]),
    }
    headers = {"Authorization": profile["tokens"]["valid"]}
    start = threading.Barrier(copies)

    def send(_):
        start.wait(timeout=10)
        return requests.put(server.base_url + ENDPOINT, params=params, headers=headers, timeout=30).json()["code"]

    with start_embedded(create_app({"DATABASE": db_path})) as server, ThreadPoolExecutor(copies) as pool:
        return Counter(pool.map(send, range(copies)))


def test_the_same_change_sent_at_once_is_made_once(tmp_path, profile):
    """One pair of codes changes the phone once: the same valid change sent by several clients at one moment gets
    one success; the others find it made (their original phone is no longer the account's)."""
    free = profile["phones"]["free"]
    for round_number in range(5):
        db_path = tmp_path / f"same-change-{round_number}.sqlite3"
        answers = same_change_round(db_path, profile, copies=8)
        assert answers == {SUCCESS: 1, OLD_PHONE_INCORRECT: 7}, f"round {round_number}: {dict(answers)}"
        assert phone_of(db_path, profile["tokens"]["valid"]) == (free["international_code"], free["phone"])
