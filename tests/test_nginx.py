"""The suite behind a real nginx (tests/support/nginx.py), as deployments front the endpoint: a correct service
holds whatever the seed; the gateway's own answers (TRACE refused without Allow, 414 past its request-line limit)
are never read as the endpoint's; a service that serves other methods as PUT is still caught through it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contract_suite.openapi import spec
from reference_server import create_app, start_embedded
from tests.support.catalogue.methods import OtherMethodsActLikePut
from tests.support.nginx import NOT_INSTALLED, Nginx, Options, dying_upstream, nginx_binary
from tests.support.suite import NO_RATE_LIMIT, PROFILE, Finished, run_pytest, target_args

pytestmark = [
    pytest.mark.selftest,
    pytest.mark.skipif(nginx_binary() is None, reason=NOT_INSTALLED),
]

CONTRACT = spec.load(spec.DEFAULT_SPEC)
RUN_TIMEOUT_SECONDS = 120
# The spec lint sends nothing, so no gateway can change its verdict.
WITHOUT_LINT = ("-m", "not lint", "--ignore", "contract_tests/test_spec_lint.py")
SOME_CASES = ("contract_tests/test_required_fields.py", "contract_tests/test_token.py")
# A request line nginx refuses at once, that a long fuzzed value passes (the long ones are 256 to 2048 characters).
SHORT_REQUEST_LINE = 1024


def serve(tmp_path: Path, *defects):
    database = tmp_path / "reference.sqlite3"
    server = start_embedded(create_app({"DATABASE": str(database), "DEFECTS": list(defects)}))
    return server, {"REFERENCE_SERVER_DB": str(database)}


def run_through(
    nginx: Nginx, env: dict[str, str], *args: str, cases: tuple[str, ...] = ("contract_tests",)
) -> Finished:
    return run_pytest(
        *cases,
        *target_args(nginx.base_url, str(PROFILE)),
        "--allow-destructive",
        *NO_RATE_LIMIT,
        "--max-requests",
        "0",
        *WITHOUT_LINT,
        "-q",
        "-rfEs",
        *args,
        env=env,
        timeout=RUN_TIMEOUT_SECONDS,
    )


def verdict(run: Finished) -> str:
    lines = [line for line in run.stdout.splitlines() if line.startswith(("HOLDS", "BROKEN", "CANNOT JUDGE"))]
    assert len(lines) == 1, run.tail()
    return lines[0]


# -- a correct service behind nginx: no false alarm --


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param((), id="default-seed"),
        # the other seeds change the generated layer alone: the hand-written cases are not run again
        pytest.param(("-m", "generated", "--generated-seed", "1"), id="seed-1"),
        pytest.param(("-m", "generated", "--generated-seed", "2"), id="seed-2"),
    ],
)
def test_a_correct_service_behind_nginx_holds(tmp_path, seed):
    server, env = serve(tmp_path)
    with server, Nginx(server.base_url, Options(gzip=True, keepalive=True)) as nginx:
        run = run_through(nginx, env, *seed)
        answered = nginx.access_log()
    assert run.returncode == 0, run.tail(60)
    assert verdict(run).startswith("HOLDS (exit 0)")
    assert "CaseNotJudged" not in run.output, run.tail(60)  # within its 8 KB, nothing was left out
    # what the run went through: nginx's own TRACE refusal (405, no Allow), and envelopes it compressed
    assert ("TRACE", 405) in {(a.method, a.status) for a in answered}
    assert any(a.gzip_ratio != "-" for a in answered if a.method == CONTRACT.method)


def test_a_gateway_refusing_a_long_request_line_is_never_judged(tmp_path):
    server, env = serve(tmp_path)
    with server, Nginx(server.base_url, Options(max_request_line=SHORT_REQUEST_LINE)) as nginx:
        unbounded = run_through(nginx, env, "-m", "generated", "-k", "fuzzing", "--max-uri-bytes", "0")
        refused = [a for a in nginx.access_log() if a.status == 414]
    assert unbounded.returncode == 0, unbounded.tail(60)
    assert refused, "no fuzzed request was long enough for nginx to refuse: the test proves nothing"
    assert re.search(
        r"CaseNotJudged: not judged: a gateway refused the request as too large \(HTTP 414 Request-URI Too Large: "
        r"its URI past the gateway's limit; request line \d+ bytes\); set --max-uri-bytes to that gateway's limit",
        unbounded.output,
    ), unbounded.tail(60)
    counted = re.search(
        r"a gateway refused (\d+) generated request\(s\) as too large \(HTTP 414 x\d+\)", unbounded.stdout
    )
    assert counted and int(counted.group(1)) == len(refused), unbounded.tail(60)  # counted in the verdict section


def test_the_request_line_budget_keeps_fuzzed_values_long_but_within_it(tmp_path):
    server, env = serve(tmp_path)
    with server, Nginx(server.base_url, Options(max_request_line=SHORT_REQUEST_LINE)) as nginx:
        budgeted = run_through(
            nginx, env, "-m", "generated", "-k", "fuzzing", "--max-uri-bytes", str(SHORT_REQUEST_LINE)
        )
        answered = nginx.access_log()
    assert budgeted.returncode == 0, budgeted.tail(60)
    # nothing past the budget reached nginx (a negative case whose extra parameters alone take more is not sent)
    assert "a gateway refused" not in budgeted.output, budgeted.tail(60)
    # the long values were cut to the budget, not dropped: some request lines fill it
    lines = [a.request_line_bytes for a in answered if a.method == CONTRACT.method]
    assert lines, "nginx logged no request of the operation"
    assert all(a.status != 414 for a in answered)
    assert max(lines) <= SHORT_REQUEST_LINE
    assert sum(size > SHORT_REQUEST_LINE - 10 for size in lines) >= 2, sorted(lines)[-10:]


# -- a broken service behind nginx: still caught --


def test_other_methods_served_as_put_are_caught_through_nginx(tmp_path):
    server, env = serve(tmp_path, OtherMethodsActLikePut)
    with server, Nginx(server.base_url) as nginx:
        run = run_through(nginx, env, "-m", "generated", "-k", "coverage")
    assert run.returncode == 1, run.tail(60)
    assert "check:    undeclared_method_is_never_served" in run.output
    # nginx answers TRACE itself: the methods it passes on are the ones caught
    served = rf"(?!TRACE)[A-Z]+ {re.escape(CONTRACT.path)} was served as the operation"
    assert re.search(served, run.output), run.tail(60)


# -- the gateway's own failures: not the contract's --


def test_nginx_rate_limit_is_never_a_contract_failure(tmp_path):
    """nginx's limit_req answers its own 503 (HTML, no Retry-After) past its rate: the suite waits, sends again and
    slows down, so the run finishes and judges everything (or, refused still, stops naming the gateway's limit)."""
    server, env = serve(tmp_path)
    with server, Nginx(server.base_url, Options(rate=20, burst=5)) as nginx:
        # unthrottled: nginx answers its own 503 past 20 requests a second (a run on a busy machine still sends
        # faster; at 50 a second one did not, once). Once refused twice, the run goes on at 10 requests a second at
        # most: the required-field and token cases (about 40 requests) are enough to meet the limit and be slowed
        # down, where the whole suite would wait about 20 s on the pace alone.
        run = run_through(nginx, env, cases=SOME_CASES)
        refused = [a for a in nginx.access_log() if a.status == 503]
    assert refused, "nginx never limited the run: the test proves nothing"
    assert run.returncode in (0, 2), run.tail(60)
    line = verdict(run)
    print(f"\n{line}")
    assert line.startswith(("HOLDS (exit 0)", "CANNOT JUDGE (exit 2): "))
    if run.returncode == 0:
        assert re.search(r"a gateway refused \d+ request\(s\) \(HTTP 503 x\d+\); the suite waited", run.stdout), (
            run.tail()
        )
    else:
        assert "--rate-limit" in line


def test_an_upstream_dying_mid_run_cannot_be_judged_naming_the_gateway(tmp_path):
    """The service behind nginx dies part-way: nginx answers its own 502 to everything, the probe too: exit 2."""
    database = tmp_path / "reference.sqlite3"
    app = create_app({"DATABASE": str(database)})
    with dying_upstream(app, requests=40) as upstream, Nginx(upstream) as nginx:
        run = run_through(nginx, {"REFERENCE_SERVER_DB": str(database)})
        gone = [a for a in nginx.access_log() if a.status == 502]
    assert gone, "the upstream never died: the test proves nothing"
    assert run.returncode == 2, run.tail(60)
    line = verdict(run)
    print(f"\n{line}")
    assert line.startswith("CANNOT JUDGE (exit 2): the service behind http://127.0.0.1:"), line
    assert "went down during the run: its gateway answers HTTP 502 text/html" in line, line
