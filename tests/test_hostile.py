"""The hostile-target matrix: the suite against servers that hang, stall, drip, flood, bomb, nest, redirect
and reset. For each: the exit code, a bound on wall time, on the run's peak memory (ru_maxrss of the child)
and on the requests the server saw; and no token or SMS code in anything the run printed or wrote, with every
flag that shows more (long tracebacks with locals, -vvv, DEBUG logs live and to a file, JUnit with all logs).

The figures of each case are printed (`pytest tests/test_hostile.py -s`)."""

from __future__ import annotations

import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from contract_suite.http.network import Tls
from contract_suite.http.transport import MAX_BODY_BYTES, Limits, Request, Transport
from reference_server import create_app, start_embedded
from tests.support import hostile
from tests.support.leaks import files_written_since, issued_codes, leaks_in, profile_tokens, read_files
from tests.support.suite import PROFILE, Finished, run_pytest, target_args

pytestmark = pytest.mark.selftest

HONEST = 2  # the preflight's two probes get honest answers, so the cases meet the hostility
TIMEOUT = "1"
CAP = 150
MAX_RSS_MIB = 400
PARALLEL_RUNS = 3
EVERY_FLAG = (
    "--tb=long",
    "--showlocals",
    "-vvv",
    "-rA",
    "--log-level=DEBUG",
    "--log-cli-level=DEBUG",
    "-o",
    "junit_logging=all",
)


@dataclass(frozen=True)
class Hostile:
    name: str
    behaviour: object
    exit_code: int
    max_seconds: float
    max_requests: int
    says: str  # a fragment of the output that names what went wrong


CASES = [
    Hostile("hang", hostile.hang, 2, 40, 10, "gave no whole answer to 3 requests in a row"),
    Hostile("stall-after-headers", hostile.stall_after_headers, 2, 40, 10, "timed out after 1 s"),
    Hostile("drip", hostile.drip, 2, 40, 10, "timed out after 1 s"),
    Hostile("reset", hostile.reset, 2, 40, 10, "the connection was closed before the whole answer came"),
    Hostile("html-500", hostile.html_500, 1, 90, CAP, "HTTP 500: every outcome must be HTTP 200"),
    Hostile("50MB-body", hostile.huge_body, 1, 120, CAP, "read no further"),
    Hostile("gzip-bomb", None, 1, 120, CAP, "read no further"),
    Hostile("nested-json", hostile.nested_json, 1, 90, CAP, "the body is not JSON"),
    Hostile("invalid-utf8", hostile.invalid_utf8, 1, 90, CAP, "the body is not JSON"),
    Hostile("redirect-other-host", None, 1, 90, CAP, "HTTP 307, a redirect to"),
    Hostile(
        "redirect-loop",
        hostile.redirect_to(lambda seen: seen.target, "302 Found"),
        1,
        90,
        CAP,
        "HTTP 302, a redirect to",
    ),
]


@dataclass
class HostileRun:
    run: Finished
    requests_seen: int
    other_seen: int
    secrets: list[str]
    produced: dict[str, str]


def run_against_hostile(case: Hostile, folder: Path, bomb: bytes) -> HostileRun:
    """The suite, with every flag that shows more, against the hostile server of this case."""
    database = folder / "reference.sqlite3"
    reports = folder / "reports"
    other = hostile.HostileServer(hostile.counting)  # the other host a redirect points at
    behaviour = case.behaviour
    if case.name == "gzip-bomb":
        behaviour = hostile.gzip_bomb(bomb)
    elif case.name == "redirect-other-host":
        behaviour = hostile.redirect_to(lambda seen: other.base_url + seen.target)
    started = time.time() - 1
    with (
        start_embedded(create_app({"DATABASE": str(database)})) as reference,
        other,
        hostile.HostileServer(behaviour, upstream=reference.base_url, honest=HONEST, spare_tokenless=True) as server,
    ):
        run = run_pytest(
            "contract_tests", *target_args(server.base_url, str(PROFILE)), "--allow-destructive",
            "--request-timeout", TIMEOUT, "--rate-limit", "0", "--max-requests", str(CAP),
            "--generated-examples", "5", *EVERY_FLAG, f"--log-file={reports / 'run.log'}",
            f"--junitxml={reports / 'junit.xml'}", f"--coverage-json={reports / 'coverage.json'}",
            env={"REFERENCE_SERVER_DB": str(database)}, timeout=300,
        )  # fmt: skip
        requests_seen = len(server.seen)
    written = files_written_since(folder, started)
    produced = {"stdout": run.stdout, "stderr": run.stderr}
    produced |= read_files([p for p in written if not p.name.startswith(database.name)])  # the server's own data
    return HostileRun(run, requests_seen, len(other.seen), profile_tokens(PROFILE) + issued_codes(database), produced)


@pytest.fixture(scope="module")
def hostile_runs(request, tmp_path_factory) -> dict[str, HostileRun]:
    """The suite against each selected hostile server, 3 runs at a time (each waits on timeouts, not CPU)."""
    wanted = {
        item.callspec.params["case"].name
        for item in request.session.items
        # this module's items only: another module's parameter may be named `case` too (tests/test_checks.py)
        if item.path == request.path and getattr(item, "callspec", None) is not None and "case" in item.callspec.params
    }
    # 2 MB on the wire, 2 GiB inflated. Past the 1 MiB the transport reads off the wire: without the cap on what it
    # inflates, that 1 MiB alone inflates to 1 GiB (about 870 MiB of it within the 1 s deadline, measured), over
    # twice MAX_RSS_MIB, and the run stops with exit 2.
    bomb = hostile.make_gzip_bomb(2048)
    with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
        futures = {
            case.name: pool.submit(run_against_hostile, case, tmp_path_factory.mktemp(case.name), bomb)
            for case in CASES
            if case.name in wanted
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_target_is_bounded_and_masked(case, hostile_runs):
    found = hostile_runs[case.name]
    run = found.run
    print(
        f"\n{case.name}: exit {run.returncode}, {run.seconds:.1f} s, max RSS {run.max_rss_mib:.0f} MiB, "
        f"{found.requests_seen} requests"
    )
    assert run.returncode == case.exit_code, run.tail()
    assert case.says in run.stdout, run.tail()
    assert "Traceback" not in run.stderr and "RecursionError" not in run.output, run.tail()
    assert run.seconds < case.max_seconds, f"{run.seconds:.1f} s"
    assert run.max_rss_mib < MAX_RSS_MIB, f"{run.max_rss_mib:.0f} MiB"
    assert found.requests_seen <= case.max_requests
    assert found.other_seen == 0, "a redirect was followed: the other host got requests (and the token)"
    assert [s for s in found.secrets if s.isdigit()], "the run issued no SMS code: nothing to look for"
    assert {"run.log", "junit.xml", "coverage.json"} <= {Path(p).name for p in found.produced}
    assert leaks_in(found.produced, found.secrets) == {}


def test_redirect_loop_keeps_the_rate_limit_and_the_cap(tmp_path):
    """A redirect loop is not followed: the server sees at most the cap, never faster than the rate limit."""
    database = tmp_path / "reference.sqlite3"
    loop = hostile.redirect_to(lambda seen: seen.target, "302 Found")
    with (
        start_embedded(create_app({"DATABASE": str(database)})) as reference,
        hostile.HostileServer(loop, upstream=reference.base_url, honest=HONEST, spare_tokenless=True) as server,
    ):
        run = run_pytest(
            "contract_tests",
            "-m",
            "not generated",
            *target_args(server.base_url, str(PROFILE)),
            "--rate-limit",
            "20",
            "--max-requests",
            "30",
            env={"REFERENCE_SERVER_DB": str(database)},
            timeout=120,
        )
    assert run.returncode == 1, run.tail()
    assert len(server.seen) <= 30
    assert server.peak_rate() <= 21, server.peak_rate()
    assert "the run's request cap (30) for this target is spent" in run.stdout, run.tail()


def test_a_gzip_bomb_is_inflated_no_further_than_the_cap():
    """Reading a bomb holds a few times the body cap, never what its bytes inflate to: the decoder stops at the room
    left under the cap. Measured in process (tracemalloc): a suite run's peak memory cannot show it, since without
    the decoder's cap the read loop still cuts the body after the first read, which inflates to about 8 MiB."""
    bomb = hostile.make_gzip_bomb(64)
    with hostile.HostileServer(hostile.gzip_bomb(bomb)) as server:
        transport = Transport(Limits(timeout=5), Tls())
        tracing = tracemalloc.is_tracing()  # someone else's tracing (python -X tracemalloc) is left running
        if not tracing:
            tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            answer = transport.send(Request("PUT", f"{server.base_url}/"))
            held = tracemalloc.get_traced_memory()[1] - before
        finally:
            if not tracing:
                tracemalloc.stop()
    assert answer.failure is None, answer.failure
    assert held < 4 * MAX_BODY_BYTES, f"{held / 2**20:.1f} MiB held to read a body capped at 1 MiB"
    assert answer.truncated and len(answer.body) == MAX_BODY_BYTES
