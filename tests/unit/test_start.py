"""Unit tests of contract_suite/engine/start.py: opening a run fetches the [tokens] command's token first, runs the
preflight (when asked) through the stack's network part, and names the problem that stops it."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from contract_suite.engine.coverage import Coverage
from contract_suite.engine.start import open_run
from contract_suite.secrets import Secrets
from contract_suite.target_data.profile import Profile
from reference_server import create_app, start_embedded
from tests.support.engine_fakes import CONTRACT, settings_for

pytestmark = pytest.mark.selftest


def opened(profile: Profile, base_url: str, preflight: bool = True, tokens=None):
    settings = settings_for(profile, base_url=base_url, request_timeout=5.0)
    return open_run(settings, base_url, Secrets(), Coverage(CONTRACT), tokens or {}, {}, preflight)


def test_a_failing_token_command_is_the_problem_and_nothing_is_sent():
    profile = Profile(token_command=f"{sys.executable} -c 'raise SystemExit(2)'", token_command_timeout=10)
    started = opened(profile, "http://127.0.0.1:9")
    assert started.problem.startswith("the [tokens] command failed: ") and started.run.stopped
    assert started.run.transport.sent == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        started.problem = None


def test_the_token_commands_token_is_the_runs_and_the_preflight_judges_the_target(tmp_path):
    server = start_embedded(create_app({"DATABASE": str(tmp_path / "db.sqlite3")}))
    try:
        profile = Profile(token_command=f"{sys.executable} -c \"print('Bearer not-issued')\"", token_command_timeout=10)
        started = opened(profile, server.base_url)
        assert started.run.tokens["valid"] == "Bearer not-issued" and started.run.ledger.tokens_fetched == 1
        assert started.problem.startswith("the valid token is rejected") and started.run.transport.sent == 2
        assert started.stack.network.run is started.run
        quiet = opened(Profile(), server.base_url, preflight=False)
        assert quiet.problem is None and quiet.run.transport.sent == 0
    finally:
        server.stop()


def locked(profile: Profile, folder, base_url: str = "http://127.0.0.1:9"):
    settings = settings_for(profile, base_url=base_url, request_timeout=5.0, max_sms_codes=7)
    return open_run(settings, base_url, Secrets(), Coverage(CONTRACT), {}, {}, False, folder)


def test_the_account_is_locked_for_the_run_and_a_second_run_on_it_is_told_at_once(tmp_path):
    from tests.support.engine_fakes import ACCOUNT

    first = locked(Profile(account=ACCOUNT), tmp_path)
    assert first.problem is None and first.run.account_lock is not None
    second = locked(Profile(account=ACCOUNT), tmp_path)
    assert second.problem.startswith(f"the test account {ACCOUNT.key} on http://127.0.0.1:9 is in use by another run")
    assert second.run.stopped and second.run.account_lock is None
    elsewhere = locked(Profile(account=ACCOUNT), tmp_path, "http://127.0.0.1:8")  # another target: its own lock
    assert elsewhere.problem is None
    assert locked(Profile(), tmp_path).run.account_lock is None  # no account: nothing to lock
    assert locked(Profile(account=ACCOUNT), None).run.account_lock is None  # a worker's run, or the embedded server
    first.run.account_lock.release()
    assert locked(Profile(account=ACCOUNT), tmp_path).problem is None  # released: the next run takes it


def test_the_sms_budget_applies_to_a_source_that_sends_sms_only(tmp_path):
    fetching = locked(Profile(code_command="./sms {international_code} {phone}"), None)
    assert fetching.run.codes.limits.budget == 7
    static = locked(Profile(static_codes={"86-1": "123456"}), None)
    assert static.run.codes.limits.budget is None  # static codes cost no SMS
