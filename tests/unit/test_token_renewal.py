"""Unit tests of contract_suite/engine/token_renewal.py: tokens are free, so a valid token that expired is fetched
again; any other refusal of it is re-checked once, and what cannot be fixed stops the run with the line that says
why."""

from __future__ import annotations

import os
import sys

import pytest

from contract_suite.engine.token_renewal import PROBE_EVERY, TokenRenewal
from contract_suite.outcomes import CannotJudge
from contract_suite.target_data.profile import Profile
from tests.support.engine_fakes import ACCOUNT, CONTRACT, FREE, TOKEN, ScriptedSender, answer, fake_run, move

pytestmark = pytest.mark.selftest

REJECTED = CONTRACT.code_named("token-verification-failed")
GONE = CONTRACT.code_named("user-does-not-exist")
INCORRECT = CONTRACT.code_named("old-phone-incorrect")
FRESH = "Bearer fresh-2b7c"
PRINTS_FRESH = f"{sys.executable} -c \"print('{FRESH}')\""


class Platform(ScriptedSender):
    """Accepts the tokens in `valid` (answering `code`), refuses others with `refused`."""

    def __init__(self, valid=(), refused=REJECTED, code=INCORRECT):
        super().__init__(lambda request: answer(request, code if request.token in self.valid else self.refused))
        self.valid, self.refused = set(valid), refused


def layer(platform, command: str | None = PRINTS_FRESH):
    profile = Profile(account=ACCOUNT, phones={"free": FREE}, token_command=command, token_command_timeout=10)
    run = fake_run(profile=profile)
    return TokenRenewal(run, platform, {"PATH": os.environ.get("PATH", "")}), run


def test_a_request_without_the_valid_token_is_never_rechecked():
    platform = Platform()
    renewal, _ = layer(platform)
    assert renewal.send(move(ACCOUNT, "1", FREE, "2", token="Bearer other")).code == REJECTED
    assert renewal.send(move(ACCOUNT, "1", FREE, "2", token=None)).code == REJECTED
    assert len(platform.sent) == 2  # no probe


def test_an_expired_token_is_fetched_again_and_the_request_sent_with_the_fresh_one():
    platform = Platform(valid=[FRESH])
    renewal, run = layer(platform)
    got = renewal.send(move(ACCOUNT, "1", FREE, "2"))
    assert got.code == INCORRECT and got.request.token == FRESH
    assert run.tokens["valid"] == FRESH and run.ledger.tokens_fetched == 1
    probes = [r for r in platform.sent if r.side("old").code == "000000"]
    assert len(probes) == 2 and [r.token for r in probes] == [TOKEN, FRESH]  # before the fetch, and after it


def refusing_the_case_only(calls: list) -> Platform:
    """Answers the token's failure to the case's request (codes "1"), and to the probe (wrong codes) the code
    that says the token passed; keeps each request in calls."""
    platform = Platform(valid=[TOKEN])
    platform.reply = lambda request: (
        calls.append(request) or answer(request, REJECTED if request.side("old").code == "1" else INCORRECT)
    )
    return platform


def test_a_refusal_the_probe_does_not_repeat_is_the_endpoints_own_and_not_asked_again():
    calls = []
    platform = refusing_the_case_only(calls)
    renewal, run = layer(platform)
    assert renewal.send(move(ACCOUNT, "1", FREE, "2")).code == REJECTED
    assert renewal.send(move(ACCOUNT, "1", FREE, "2")).code == REJECTED
    assert len(calls) == 3 and run.ledger.tokens_fetched == 0 and run.stopped is None  # one probe in all


def test_without_a_token_command_an_expired_token_stops_the_run():
    renewal, run = layer(Platform(), command=None)
    with pytest.raises(CannotJudge, match=r"the valid token expired during the run \(accepted at the start"):
        renewal.send(move(ACCOUNT, "1", FREE, "2"))
    assert "give a [tokens] command" in run.stopped


def test_a_token_that_expires_within_twenty_requests_of_its_fetch_stops_the_run():
    platform = Platform(valid=[FRESH])
    renewal, run = layer(platform)
    run.transport.sent = 50  # the run is well under way when the token first expires
    renewal.send(move(ACCOUNT, "1", FREE, "2"))
    platform.valid = set()
    run.transport.sent += PROBE_EVERY - 1
    with pytest.raises(CannotJudge, match="expired again during the run .* 19 request\\(s\\) after the \\[tokens\\]"):
        renewal.send(move(ACCOUNT, "1", FREE, "2", token=FRESH))
    assert PROBE_EVERY == 20 and "give tokens that last at least 20 requests" in run.stopped


def test_a_token_that_expires_again_and_again_is_fetched_again_each_time(tmp_path):
    """Tokens are free: each time the valid token expires (twenty requests or more after the last fetch), the
    [tokens] command is run again (here it prints a new token each time) and the request sent with it."""
    counter = tmp_path / "logins"
    login = (
        f'{sys.executable} -c "import pathlib; p = pathlib.Path({str(counter)!r}); '
        "n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1)); print(f'Bearer t{n}')\""
    )
    platform = Platform()
    renewal, run = layer(platform, command=login)
    for round in range(3):
        platform.valid = {f"Bearer t{round}"}  # the token before it expired
        got = renewal.send(move(ACCOUNT, "1", FREE, "2", token=run.tokens["valid"]))
        assert got.code == INCORRECT and got.request.token == f"Bearer t{round}"
        assert run.tokens["valid"] == f"Bearer t{round}" and run.ledger.tokens_fetched == round + 1
        run.transport.sent += PROBE_EVERY
    assert run.stopped is None


def test_a_probes_finding_holds_for_twenty_requests():
    calls = []
    platform = refusing_the_case_only(calls)
    renewal, run = layer(platform)
    renewal.send(move(ACCOUNT, "1", FREE, "2"))
    run.transport.sent += PROBE_EVERY - 1
    renewal.send(move(ACCOUNT, "1", FREE, "2"))
    assert len(calls) == 3  # one probe
    run.transport.sent += 1
    renewal.send(move(ACCOUNT, "1", FREE, "2"))
    assert len(calls) == 5 and run.stopped is None  # probed again


def test_a_fresh_token_rejected_too_stops_the_run():
    renewal, run = layer(Platform())
    with pytest.raises(CannotJudge, match="the fresh one the \\[tokens\\] command printed is rejected too"):
        renewal.send(move(ACCOUNT, "1", FREE, "2"))


def test_a_failing_token_command_stops_the_run_saying_so():
    renewal, run = layer(Platform(), command=f"{sys.executable} -c 'raise SystemExit(3)'")
    with pytest.raises(CannotJudge, match="the \\[tokens\\] command failed to fetch a fresh one"):
        renewal.send(move(ACCOUNT, "1", FREE, "2"))


def test_the_accounts_user_gone_stops_the_run():
    renewal, run = layer(Platform(refused=GONE))
    with pytest.raises(CannotJudge, match="the valid token's user is gone since the run began"):
        renewal.send(move(ACCOUNT, "1", FREE, "2"))


def test_a_burst_is_sent_again_with_the_fresh_token():
    platform = Platform(valid=[FRESH])
    renewal, _ = layer(platform)
    answers = renewal.send_at_once(move(ACCOUNT, "1", FREE, "2"), 2)
    assert [a.request.token for a in answers] == [FRESH, FRESH] and platform.bursts == [2, 2]


def test_a_burst_without_the_valid_token_is_never_rechecked():
    platform = Platform()
    renewal, run = layer(platform)
    answers = renewal.send_at_once(move(ACCOUNT, "1", FREE, "2", token="Bearer other"), 2)
    assert [a.code for a in answers] == [REJECTED, REJECTED] and len(platform.sent) == 2 and run.stopped is None
