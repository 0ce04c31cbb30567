"""Unit tests of contract_suite/engine/environment.py: an answer that is not the endpoint's is re-checked with the
preflight's probe before any case blames the contract for it; a changed environment stops the run naming what
changed."""

from __future__ import annotations

import pytest

from contract_suite.engine.environment import EnvironmentRecheck
from contract_suite.outcomes import CannotJudge
from tests.support.engine_fakes import ACCOUNT, FREE, INCORRECT, REJECTED, ScriptedSender, answer, fake_run, lost, move

pytestmark = pytest.mark.selftest

REQUEST = move(ACCOUNT, "1", FREE, "2")
PAGE = b"<html>maintenance</html>"


def recheck(probe_reply, preflight_envelope=False):
    network = ScriptedSender(probe_reply)
    run = fake_run()
    run.preflight_envelope = preflight_envelope
    return EnvironmentRecheck(run, network), network, run


def test_an_envelope_or_a_lost_answer_is_never_rechecked():
    checks, network, _ = recheck(lambda r: answer(r, REJECTED))
    checks.endpoint_spoke(answer(REQUEST, INCORRECT))
    checks.endpoint_spoke(answer(REQUEST, body=b'{"msg": "m", "extMsg": ""}', status=500))
    checks.endpoint_spoke(lost(REQUEST))
    assert network.sent == []


def test_a_page_where_the_probe_still_gets_the_envelope_is_the_endpoints_own_once_per_status():
    checks, network, run = recheck(lambda r: answer(r, REJECTED))
    checks.endpoint_spoke(answer(REQUEST, body=PAGE, status=404))
    checks.endpoint_spoke(answer(REQUEST, body=PAGE, status=404))
    assert len(network.sent) == 1 and run.stopped is None
    probe = network.sent[0]
    assert probe.token is None and dict(probe.values) == {}  # no token, no parameter: changes nothing
    checks.endpoint_spoke(answer(REQUEST, body=PAGE, status=500))
    assert len(network.sent) == 2


def test_a_200_page_passes_unless_the_preflight_got_the_envelope():
    checks, _, run = recheck(lambda r: answer(r, body=PAGE))
    checks.endpoint_spoke(answer(REQUEST, body=PAGE))
    assert run.stopped is None
    checks, _, run = recheck(lambda r: answer(r, body=PAGE), preflight_envelope=True)
    with pytest.raises(CannotJudge, match="stopped serving the endpoint during the run"):
        checks.endpoint_spoke(answer(REQUEST, body=PAGE))


@pytest.mark.parametrize(
    ("probe", "said"),
    [
        (lambda r: lost(r), "stopped answering during the run"),
        (lambda r: answer(r, body=PAGE, status=429), "rate-limits the run"),
        (lambda r: answer(r, body=PAGE, status=502), "went down during the run: its gateway answers HTTP 502"),
        (lambda r: answer(r, body=PAGE, status=504), "went down during the run: its gateway answers HTTP 504"),
        (lambda r: answer(r, body=PAGE, status=503), "went down or into maintenance during the run"),
        (lambda r: answer(r, body=PAGE, status=404), "a request with no token now gets HTTP 404"),
    ],
    ids=["no-answer", "429", "502", "504", "503", "404"],
)
def test_a_changed_environment_stops_the_run_naming_what_changed(probe, said):
    checks, _, run = recheck(probe)
    with pytest.raises(CannotJudge, match=said):
        checks.endpoint_spoke(answer(REQUEST, body=PAGE, status=503))
    assert run.stopped.startswith(f"the target {run.base_url}") or run.stopped.startswith("the service behind")


def test_a_rate_limit_names_a_slower_rate_to_try():
    checks, _, run = recheck(lambda r: answer(r, body=PAGE, status=429))
    run.transport.rate = 4.0
    with pytest.raises(CannotJudge, match=r"refused at 4 requests/s: try --rate-limit 2\)"):
        checks.endpoint_spoke(answer(REQUEST, body=PAGE, status=429))
