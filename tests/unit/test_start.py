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
