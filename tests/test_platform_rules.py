"""The world outside a clean test bench: SMS codes that expire or are spent by a check, a code source that feeds
another system, a static code with a typo, the test account changed by someone else, two runs at once. A correct
service never ends BROKEN for any of them; each asserts the exact exit code and the line that says why."""

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from contract_suite.openapi import spec
from reference_server import codes, create_app, start_embedded, storage
from reference_server.app import SetPhoneService
from reference_server.codes import CodeRules
from tests.support.catalogue.correct import CodesVerifiedFirst
from tests.support.suite import (
    CODE_FUNCTION_LINE,
    CODE_SOURCE,
    COMMAND_PROFILE,
    HAND_WRITTEN,
    NO_RATE_LIMIT,
    PROFILE,
    run_pytest,
    target_args,
)

pytestmark = pytest.mark.selftest

SUITE = (*HAND_WRITTEN, "-p", "no:cacheprovider")
ACCOUNT = ("86", "13800000001")
NUMBERS = ["86-13800000001", "86-13800000002", "86-13800000003", "86-13800000004"]
EXERCISABLE = sum(entry.exercisable for entry in spec.load().codes.values())  # the "judged N of M" line's M
CODES_GO_STALE = "codes on this target expire or are spent by a failed check"
DEFAULT_RUN_SMS_CODES = 21  # what a run of these cases asks for where codes live until used (docs/performance.md)


@contextmanager
def serving(tmp_path, rules=None, defects=()):
    """The reference server on a fresh database (with the platform's code rules, or a defect mixed in)."""
    db = tmp_path / "reference.sqlite3"
    with start_embedded(create_app({"DATABASE": str(db), "CODE_RULES": rules, "DEFECTS": list(defects)})) as server:
        yield server.base_url, db


def run_suite(base_url, code_db, *more, profile=PROFILE, timeout=240):
    """The hand-written cases against base_url, the profile's code source issuing codes into code_db."""
    args = target_args(base_url, profile, *more, destructive=True)
    return run_pytest(*SUITE, *args, env={"REFERENCE_SERVER_DB": str(code_db)}, timeout=timeout)


def last_line(result) -> str:
    return next(line for line in reversed(result.stdout.splitlines()) if line.startswith(("HOLDS", "BROKEN", "CANNOT")))


@pytest.mark.parametrize(
    "rules",
    [
        # the run is paced so that the codes fetched at its start expire in its middle
        pytest.param((CodeRules(lifetime=2.0), ("--rate-limit", "40")), id="codes-expire-after-2-s"),
        pytest.param((CodeRules(spent_by_check=True), NO_RATE_LIMIT), id="codes-spent-by-any-check"),
        pytest.param((CodeRules(wrong_tries=1), NO_RATE_LIMIT), id="code-voided-by-a-wrong-try"),
    ],
)
def test_a_platforms_code_rules_hold_on_a_correct_service(tmp_path, rules):
    """Each holds, and says what the refusals cost: the verdict section and the coverage JSON carry the codes the
    target refused and those fetched again, and the run's costs."""
    code_rules, pace = rules
    report = tmp_path / "coverage.json"
    with serving(tmp_path, code_rules) as (url, db):
        result = run_suite(url, db, *pace, f"--coverage-json={report}")
    assert result.returncode == 0, result.tail()
    assert last_line(result).startswith(f"HOLDS (exit 0) on what was judged: judged {EXERCISABLE} of {EXERCISABLE}")
    assert "SMS code(s) the run held valid" in result.stdout and CODES_GO_STALE in result.stdout, result.tail()
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["sms_codes"]["refused"] >= 1 and written["sms_codes"]["codes_go_stale"] is True
    costs = written["costs"]
    assert costs["requests"] > 100 and costs["sms_codes_asked"] > written["sms_codes"]["refetched"]
    # a fresh code only where an answer needs one: about twice a default run's (21), not 5 to 16 times
    assert costs["sms_codes_asked"] <= 2 * DEFAULT_RUN_SMS_CODES, costs
    assert costs["tokens_fetched"] == 0 and costs["seconds"] > 0
    line = f"the run sent {costs['requests']} request(s) to {url}, asked the {CODE_SOURCE} for "
    assert line + f"{costs['sms_codes_asked']} SMS code(s) (" in result.stdout
    asked_by_number = written["sms_codes"]["asked_by_number"]
    assert sum(asked_by_number.values()) == costs["sms_codes_asked"] and "86-13800000001" in asked_by_number


def test_one_number_on_both_sides_where_a_check_spends_the_code_is_not_judgeable_never_broken(tmp_path):
    """A correct service that verifies both codes before the numbers, a check spending the code: a request naming
    the account's number on both sides cannot pass (one code, two checks; a second code voids the first). The case
    that needs it is named not judgeable on this target, the keeper's questions stop spending codes on it, and the
    run HOLDS within about twice the default run's codes."""
    report = tmp_path / "coverage.json"
    with serving(tmp_path, CodeRules(spent_by_check=True), defects=[CodesVerifiedFirst]) as (url, db):
        result = run_suite(url, db, *NO_RATE_LIMIT, f"--coverage-json={report}")
    assert result.returncode == 0, result.tail()
    skipped = "not judgeable on this target: the request names 86-13800000001 on both sides with one SMS code"
    assert "SKIPPED [1] contract_tests/test_business_rules.py:" in result.stdout and skipped in result.stdout
    assert last_line(result).startswith(f"HOLDS (exit 0) on what was judged: judged {EXERCISABLE} of {EXERCISABLE}")
    assert "1 skipped" in result.stdout.splitlines()[-1], result.tail()  # that case alone; the success case judged
    assert _costs(report)[0]["sms_codes_asked"] <= 2 * DEFAULT_RUN_SMS_CODES


def test_a_code_command_reading_another_database_cannot_judge_within_ten_codes(tmp_path):
    """The first refusals of fresh codes that nothing explains stop the run, before it spends more SMS codes."""
    report = tmp_path / "coverage.json"
    with serving(tmp_path) as (url, _):
        result = run_suite(
            url,
            tmp_path / "another-system.sqlite3",
            *NO_RATE_LIMIT,
            f"--coverage-json={report}",
            profile=COMMAND_PROFILE,
        )
    assert result.returncode == 2, result.tail()
    asked = json.loads(report.read_text(encoding="utf-8"))["costs"]["sms_codes_asked"]
    assert asked <= 10, result.tail()
    assert last_line(result) == (
        "CANNOT JUDGE (exit 2): the target refused every SMS code the [codes] command gave for 86-13800000001, "
        "fresh ones too: check that the command reads this target's codes (the same database or environment); if "
        "it does, the target rejects valid codes"
    )


def _static_profile(tmp_path, db, typo_for: str) -> str:
    """profiles/reference.toml with static codes (issued into db now) for its command, the one of `typo_for`
    mistyped."""
    storage.ensure_database(str(db), time.time)
    with sqlite3.connect(db) as connection:
        table = {key: codes.issue(connection, *key.split("-"), time.time()) for key in NUMBERS}
    table[typo_for] = "000000" if table[typo_for] != "000000" else "000001"
    text = COMMAND_PROFILE.read_text(encoding="utf-8")
    command = 'command = "python -m reference_server issue-code {international_code} {phone}"'
    listed = ", ".join(f'"{key}" = "{code}"' for key, code in table.items())
    path = tmp_path / "static.toml"
    path.write_text(text.replace(command, f"static = {{ {listed} }}"), encoding="utf-8")
    return str(path)


def test_a_static_code_with_a_typo_cannot_judge_naming_the_key(tmp_path):
    with serving(tmp_path) as (url, db):
        profile = _static_profile(tmp_path, db, typo_for="86-13800000001")
        result = run_suite(url, db, *NO_RATE_LIMIT, profile=profile)
    assert result.returncode == 2, result.tail()
    line = last_line(result)
    assert line.startswith('CANNOT JUDGE (exit 2): the target refused [codes] static "86-13800000001"'), line
    assert "the code is wrong or no longer valid" in line


class SomeoneElseMovesTheAccount(SetPhoneService):
    """A correct service whose test account a person moves to 86-13912340002 in the middle of the run."""

    after_requests = 60
    seen = 0

    def handle(self, request):
        type(self).seen += 1
        if type(self).seen == self.after_requests:
            with sqlite3.connect(self.database) as db:
                db.execute("UPDATE users SET phone = '13912340002' WHERE international_code = ? AND phone = ?", ACCOUNT)
        return super().handle(request)


def test_the_account_moved_by_someone_else_cannot_judge(tmp_path):
    SomeoneElseMovesTheAccount.seen = 0
    with serving(tmp_path, defects=[SomeoneElseMovesTheAccount]) as (url, db):
        result = run_suite(url, db, *NO_RATE_LIMIT)
    assert result.returncode == 2, result.tail()
    line = last_line(result)
    assert line.startswith("CANNOT JUDGE (exit 2): the test account was changed by someone else during the run"), line
    assert "another run or a person is using the account" in line
    assert "MAY NOW HOLD" not in result.stdout  # the account answered to none of the numbers asked: none is named


SLOW_CODES = """
import time
from reference_server.codes import code_for_profile

def code(international_code, phone, env):
    time.sleep(0.03)  # as an SMS gateway takes its time: the other run's fetch may void this code meanwhile
    return code_for_profile(international_code, phone, env)
"""


def _slow_code_profile(tmp_path) -> str:
    """The reference test data, its codes from a function that takes 30 ms a code (as long as the code command's
    process start, without its CPU)."""
    (tmp_path / "slow_sms.py").write_text(SLOW_CODES, encoding="utf-8")
    text = PROFILE.read_text(encoding="utf-8").replace(CODE_FUNCTION_LINE, 'function = "slow_sms.py:code"')
    path = tmp_path / "slow-codes.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("machines", [1, 2], ids=["one-machine", "two-machines"])
def test_two_runs_at_once_on_one_account_never_end_broken(tmp_path, machines):
    """Two pipelines with one profile against one staging system. On one machine the second sees the first's lock
    and says at once that the account is in use (the first HOLDS); on two (each its own temporary folder, so
    neither sees the other's lock) each HOLDS, or cannot judge naming the shared account or the source. Afterwards
    the account is on its number, or a verdict line says how to put it back."""
    profile = _slow_code_profile(tmp_path)
    folders = [tmp_path / f"machine-{n}" for n in range(machines)]
    for folder in folders:
        folder.mkdir()
    with serving(tmp_path) as (url, db):

        def one_run(n: int):
            env = {"REFERENCE_SERVER_DB": str(db), "TMPDIR": str(folders[n % machines])}
            args = target_args(url, profile, *NO_RATE_LIMIT, destructive=True)
            if n and machines == 1:
                time.sleep(1.0)  # the second starts while the first runs
            return run_pytest(*SUITE, *args, env=env, timeout=300)

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(one_run, range(2)))
        with sqlite3.connect(db) as connection:
            home = connection.execute(
                "SELECT COUNT(*) FROM users WHERE international_code = ? AND phone = ?", ACCOUNT
            ).fetchone()[0]
    for result in results:
        assert result.returncode in (0, 2), result.tail(60)
        if result.returncode == 2:
            line = last_line(result)
            assert any(words in line for words in ("someone else", "by hand", "in use by another run")), line
    if machines == 1:
        assert results[0].returncode == 0, results[0].tail()
        assert results[1].returncode == 2 and "is in use by another run of the suite on this machine" in (
            last_line(results[1])
        ), results[1].tail()
    assert home == 1 or any("by hand" in last_line(r) for r in results), [last_line(r) for r in results]


def _costs(report) -> tuple[dict, dict]:
    written = json.loads(report.read_text(encoding="utf-8"))
    return written["costs"], written["sms_codes"]


def test_the_default_reference_server_costs_what_it_did_and_the_sms_budget_at_its_edge(tmp_path):
    """On a target without code rules nothing is fetched again, and the run asks for no more codes than a default run
    did (21). A budget of exactly the codes it asked for judges everything; half of it stops the cases that need
    more (not judged, saying so), and the run asks for no code past the budget but to put the account back."""
    with serving(tmp_path) as (url, db):
        unbounded = tmp_path / "unbounded.json"
        result = run_suite(url, db, *NO_RATE_LIMIT, "--max-sms-codes", "0", f"--coverage-json={unbounded}")
        assert result.returncode == 0, result.tail()
        assert "SMS code(s) the run held valid" not in result.stdout  # no held code refused
        needed = _costs(unbounded)[0]["sms_codes_asked"]
        assert needed <= DEFAULT_RUN_SMS_CODES
        exact = tmp_path / "exact.json"
        result = run_suite(url, db, *NO_RATE_LIMIT, "--max-sms-codes", str(needed), f"--coverage-json={exact}")
        assert result.returncode == 0 and "--max-sms-codes" not in result.stdout.split("contract verdict")[0]
        costs, sms = _costs(exact)
        assert (costs["sms_codes_asked"], sms["budget"], sms["cases_stopped_by_budget"]) == (needed, needed, 0)
        assert "SMS code(s) (" in result.stdout and f"of a budget of {needed} (--max-sms-codes)" in result.stdout
        half = tmp_path / "half.json"
        result = run_suite(url, db, *NO_RATE_LIMIT, "--max-sms-codes", str(needed // 2), f"--coverage-json={half}")
    costs, sms = _costs(half)
    assert sms["cases_stopped_by_budget"] >= 1 and costs["sms_codes_asked"] - sms["past_budget"] <= needed // 2
    assert "the run's SMS budget is spent" in result.stdout and "case(s) not judged for want of a code" in result.stdout
    # every documented code is still judged by the cases before the budget ran out: it holds on what was judged,
    # and the costs line above it says how many cases the budget stopped
    assert result.returncode == 0, result.tail()
    assert last_line(result).startswith(f"HOLDS (exit 0) on what was judged: judged {EXERCISABLE} of {EXERCISABLE}")


@pytest.mark.parametrize(
    "sender",
    [("--min-interval", "0.3", True), ("--min-interval", "0.3", False), ("--delivery-seconds", "0.05", False)],
    ids=["interval-given", "source-says-not-now", "slow-delivery"],
)
def test_a_platforms_sms_sender_costs_time_not_codes(tmp_path, sender):
    """The platform refuses a second code to one number within 0.3 s (the code command exits 75, retry-after on
    stderr; 10 of a run's codes go to the account's number, one right after a success spent its code), or takes
    0.05 s to deliver each. Given [codes] min_interval_seconds, the run never asks too soon; without it, each "not
    now" is waited out and counted, no SMS sent; a slow delivery just takes its time. All HOLD, asking for no more
    codes than a default run."""
    option, seconds, interval_in_profile = sender
    command = 'command = "python -m reference_server issue-code {international_code} {phone}"'
    paced = f'command = "python -m reference_server issue-code {{international_code}} {{phone}} {option} {seconds}"'
    text = COMMAND_PROFILE.read_text(encoding="utf-8").replace(command, paced)
    if interval_in_profile:
        text = text.replace(paced, paced + f"\nmin_interval_seconds = {seconds}")
    profile = tmp_path / "paced.toml"
    profile.write_text(text, encoding="utf-8")
    report = tmp_path / "coverage.json"
    with serving(tmp_path) as (url, db):
        result = run_suite(url, db, *NO_RATE_LIMIT, f"--coverage-json={report}", profile=profile)
    assert result.returncode == 0, result.tail()
    costs, sms = _costs(report)
    assert costs["sms_codes_asked"] <= DEFAULT_RUN_SMS_CODES  # a "not now" is no SMS
    if option == "--delivery-seconds":
        assert sms["throttled"] == 0 and sms["waited_seconds"] == 0
    elif interval_in_profile:
        assert sms["throttled"] == 0 and sms["waited_seconds"] > 0, sms
    else:
        assert sms["throttled"] >= 1 and f'the source said "not now" {sms["throttled"]} time(s)' in result.stdout
