"""The suite against targets that misbehave as real ones do: refused, hanging, not JSON, private TLS, limits, -n 2."""

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from contract_suite.engine.settings import URL_MAX_REQUESTS, URL_RATE_LIMIT
from reference_server import create_app, start_embedded, storage
from reference_server.app import SetPhoneService
from reference_server.embedded import QuietRequestHandler
from tests.support import hostile
from tests.support.junit import read_junit
from tests.support.proxy import ForwardProxy
from tests.support.suite import HAND_WRITTEN, NO_RATE_LIMIT, PROFILE, WITHOUT_GENERATED, run_pytest, target_args

pytestmark = pytest.mark.selftest

QUICK = ("--generated-examples", "5")


def run(*args, env=None, timeout=300):
    finished = run_pytest(*QUICK, *args, env=env, timeout=timeout)
    return finished, finished.seconds


def verdicts(junit):
    return {test_id: outcome.outcome for test_id, outcome in read_junit(junit).items()}


@pytest.fixture
def reference(tmp_path):
    """A correct reference server by URL, with the env its profile's code command needs."""
    db = tmp_path / "reference.sqlite3"
    with start_embedded(create_app({"DATABASE": str(db)})) as server:
        yield server.base_url, {"REFERENCE_SERVER_DB": str(db)}


@pytest.mark.parametrize(
    "url, cause",
    [
        pytest.param("http://127.0.0.1:{closed_port}", "connection refused", id="refused"),
        pytest.param("http://no-such-host.invalid", "unknown host", id="unknown-host"),
    ],
)
def test_unreachable_target_is_one_clear_error(url, cause):
    with socket.socket() as probe:  # a port that nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    url = url.format(closed_port=closed_port)
    result, seconds = run(*HAND_WRITTEN, "--base-url", url)
    assert result.returncode == 2
    assert f"cannot use the target {url}: {cause}" in result.stdout
    assert "failed" not in result.stdout.splitlines()[-1] and "Traceback" not in result.stdout + result.stderr
    assert seconds < 30


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_hanging_target_stops_the_run_in_bounded_time(silent_port):
    url = f"http://127.0.0.1:{silent_port}"
    result, seconds = run(*HAND_WRITTEN, "--base-url", url, "--request-timeout", "1")
    assert result.returncode == 2
    assert f"cannot use the target {url}: no answer: timed out after 1 s" in result.stdout
    assert seconds < 30


class HangsAfterThePreflight(SetPhoneService):
    """Answer the preflight's two probes, then take 5 s over every other request."""

    answered = 0

    def handle(self, request):
        type(self).answered += 1
        if type(self).answered > 2:
            time.sleep(5)
        return super().handle(request)


def test_target_that_starts_hanging_fails_cases_with_the_timeout_then_stops(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "db.sqlite3"), "DEFECTS": [HangsAfterThePreflight]})
    with start_embedded(app) as server:
        result, seconds = run(
            "contract_tests",
            "-m",
            "not generated",
            *target_args(server.base_url, PROFILE),
            "--request-timeout",
            "1",
            env={"REFERENCE_SERVER_DB": str(tmp_path / "db.sqlite3")},
        )
    assert result.returncode == 2, result.stdout[-2000:]
    assert "timed out after 1 s" in result.stdout
    assert "gave no whole answer to 3 requests in a row (last: timed out after 1 s)" in result.stdout
    assert "CANNOT JUDGE (exit 2)" in result.stdout
    assert seconds < 60


def _raw_app(body: bytes, content_type: str):
    def app(environ, start_response):
        return Response(body, status=200, content_type=content_type)(environ, start_response)

    return app


@pytest.mark.parametrize(
    "body, content_type, quoted",
    [
        pytest.param(
            b"<html><body>502 Bad Gateway</body></html>", "text/html", "'<html><body>502 Bad Gateway", id="html"
        ),
        pytest.param(b"", "application/json", "(empty body)", id="empty"),
        pytest.param(
            b'{"code": 5032, "msg": "tok',
            "application/json",
            'the body is not JSON: \'{"code": 5032, "msg": "tok\'',
            id="truncated",
        ),
        pytest.param(
            b"[" + b"0," * (1 << 20) + b"0]", "application/json", "more than 1048576 bytes; read no further", id="huge"
        ),
    ],
)
def test_body_that_is_not_an_envelope_is_quoted(body, content_type, quoted, tmp_path):
    """Each case quotes the body; and since no answer at all was an envelope, the run cannot judge (exit 2)."""
    codes = tmp_path / "codes.sqlite3"  # where the profile's code function issues the cases' SMS codes
    storage.ensure_database(str(codes), time.time)
    with start_embedded(_raw_app(body, content_type)) as server:
        result, _ = run(
            "contract_tests/test_token.py",
            *target_args(server.base_url, PROFILE),
            env={"REFERENCE_SERVER_DB": str(codes)},
        )
    assert result.returncode == 2, result.stdout[-2000:]
    assert quoted in result.stdout
    assert "was a JSON envelope: this URL does not serve the endpoint" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a private CA for the TLS tests")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def tls_reference(tmp_path, tls_files):
    db = tmp_path / "db.sqlite3"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, tls_files))
    server = make_server(
        "127.0.0.1",
        0,
        create_app({"DATABASE": str(db)}),
        threaded=True,
        ssl_context=context,
        request_handler=QuietRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.port}", {"REFERENCE_SERVER_DB": str(db)}
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_a_ca_bundle_is_not_read_for_an_http_target(reference):
    """As with requests, the CA bundle matters to HTTPS alone: a stale one in the environment stops no HTTP run."""
    url, env = reference
    result, _ = run("contract_tests/test_token.py", *target_args(url, PROFILE), *NO_RATE_LIMIT,
                    env={**env, "REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"})  # fmt: skip
    assert result.returncode == 0, result.tail()


def test_tls_is_verified_by_default(tls_reference):
    url, env = tls_reference
    result, _ = run("contract_tests/test_token.py", *target_args(url, PROFILE), env=env)
    assert result.returncode == 2
    assert f"cannot use the target {url}: TLS certificate not trusted" in result.stdout
    assert "REQUESTS_CA_BUNDLE" in result.stdout


def test_insecure_runs_warns_and_says_so_in_the_header(tls_reference):
    url, env = tls_reference
    result, _ = run(
        "contract_tests/test_token.py",
        "contract_tests/test_generated.py",
        *target_args(url, PROFILE),
        *NO_RATE_LIMIT,
        "--insecure",
        env=env,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "TLS OFF (--insecure): certificates are not verified" in result.stdout
    assert f"--insecure: the TLS certificate of {url} is not verified" in result.stdout


def test_private_ca_through_requests_ca_bundle(tls_reference, tls_files):
    url, env = tls_reference
    result, _ = run(
        "contract_tests/test_token.py",
        "contract_tests/test_generated.py",
        *target_args(url, PROFILE),
        *NO_RATE_LIMIT,
        env={**env, "REQUESTS_CA_BUNDLE": str(tls_files[0])},
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "TLS verified" in result.stdout


@pytest.fixture
def metered(tmp_path):
    """The reference server behind a forwarder that records each request it passes on, and when (`seen`,
    `peak_rate()`): the politeness is counted where it matters, at the target."""
    db = tmp_path / "reference.sqlite3"
    with (
        start_embedded(create_app({"DATABASE": str(db)})) as server,
        hostile.HostileServer(hostile.forward, upstream=server.base_url) as meter,
    ):
        yield meter, {"REFERENCE_SERVER_DB": str(db)}


# A request arriving on each edge of one second: the transport spaces requests 1/rate apart as it sends them, the
# server's clock sees them a little closer or further.
EDGES = 1


def test_rate_limit_and_cap_are_in_the_header_and_hold(metered):
    meter, env = metered
    result, _ = run(*HAND_WRITTEN, *target_args(meter.base_url, PROFILE),
                    "--rate-limit", "4", "--max-requests", "7", "-rs", env=env)  # fmt: skip
    assert result.returncode == 2, result.tail()  # codes left unjudged by the cap: a partial judgement
    assert "contract politeness: at most 4 requests/s, at most 7 requests" in result.stdout
    assert "the run's request cap (7) for this target is spent; raise it with --max-requests" in result.stdout
    # the run wanted far more than 7 requests, and took 1.5 s over the 7 it sent
    assert len(meter.seen) == 7, [f"{s.method} {s.target}" for s in meter.seen]
    assert meter.peak_rate() <= 4 + EDGES, meter.peak_rate()


def test_url_target_gets_default_politeness(metered):
    meter, env = metered
    result, _ = run("contract_tests/test_token.py", "contract_tests/test_required_fields.py", "-k", "not blank",
                    *WITHOUT_GENERATED, *target_args(meter.base_url, PROFILE), env=env)  # fmt: skip
    assert result.returncode == 0, result.tail()
    politeness = (
        f"contract politeness: at most {URL_RATE_LIMIT:g} requests/s, at most {URL_MAX_REQUESTS} requests, request "
        "lines within 8192 bytes"
    )
    assert politeness in result.stdout
    # more requests than a second holds at the default rate, so the rate shows at the target (the default cap of
    # 1000 is read from the header only: reaching it would take 100 s)
    assert len(meter.seen) > URL_RATE_LIMIT + 2 * EDGES, len(meter.seen)
    assert meter.peak_rate() <= URL_RATE_LIMIT + EDGES, meter.peak_rate()


def test_the_race_burst_counts_against_the_rate_limit(metered):
    """The race case's identical changes reach the target together, each on its own connection, and count as that
    many requests: the pace leaves room for them before and after, so no second sees more than the rate."""
    meter, env = metered
    result, _ = run("contract_tests/test_state_rules.py", "-k", "one_pair", *WITHOUT_GENERATED, "-rA",
                    *target_args(meter.base_url, PROFILE), "--allow-destructive",
                    "--rate-limit", "4", "--concurrent-changes", "4", env=env)  # fmt: skip
    assert result.returncode == 0, result.tail()
    assert "PASSED contract_tests/test_state_rules.py::test_one_pair_of_codes_changes_the_phone_once" in result.stdout
    sent = Counter(s.target for s in meter.seen if s.method == "PUT")
    assert sorted(sent.values())[-1] == 4, sent  # the burst: one request, four times
    assert meter.peak_rate() <= 4 + EDGES, meter.peak_rate()


def test_parallel_run_gives_the_serial_verdicts(reference, tmp_path):
    url, env = reference
    args = ("contract_tests", *target_args(url, PROFILE), "--allow-destructive", "--rate-limit", "0")
    serial, _ = run(*args, f"--junitxml={tmp_path / 'serial.xml'}", env=env)
    parallel, _ = run(*args, "-n", "2", f"--junitxml={tmp_path / 'parallel.xml'}", env=env)
    assert serial.returncode == parallel.returncode == 0, parallel.stdout[-3000:]
    assert verdicts(tmp_path / "serial.xml") == verdicts(tmp_path / "parallel.xml")
    assert "documented-code coverage" in parallel.stdout
    table = parallel.stdout.split("documented-code coverage")[1]
    assert "success" in table and "exercised, not seen" not in table and "not exercised" not in table


def test_bare_pytest_against_a_url_runs_only_the_contract_suite(reference):
    url, env = reference
    result, _ = run("--base-url", url, "--co", "-q", env=env)
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert collected and all(line.startswith("contract_tests/") for line in collected)
    named, _ = run("tests/test_lint.py", "--base-url", url, "--co", "-q", env=env)
    assert any(line.startswith("tests/test_lint.py::") for line in named.stdout.splitlines())


@pytest.mark.parametrize(
    "args, env, message",
    [
        pytest.param(("--request-timeout", "0"), {}, "--request-timeout must be more than 0 s", id="zero-timeout"),
        pytest.param(("--rate-limit", "-1"), {}, "--rate-limit must be 0 (no limit) or more", id="negative-rate"),
        pytest.param(
            (), {"CONTRACT_TIMEOUT": "soon"}, "CONTRACT_TIMEOUT must be a number, got 'soon'", id="env-timeout"
        ),
        pytest.param(
            (), {"CONTRACT_MAX_REQUESTS": "many"}, "CONTRACT_MAX_REQUESTS must be a whole number", id="env-cap"
        ),
        pytest.param(
            (), {"CONTRACT_MAX_URI_BYTES": "8k"}, "CONTRACT_MAX_URI_BYTES must be a whole number", id="env-uri-budget"
        ),
        pytest.param(("--max-uri-bytes", "-1"), {}, "--max-uri-bytes must be 0 (no budget) or more", id="uri-budget"),
        pytest.param(
            ("--concurrent-changes", "1"),
            {},
            "--concurrent-changes must be at least 2 (one request cannot race",
            id="race-of-one",
        ),
        pytest.param(
            (),
            {"CONTRACT_CONCURRENT_CHANGES": "500"},
            "CONTRACT_CONCURRENT_CHANGES must be at most 50, got 500",
            id="env-flood",
        ),
        pytest.param(
            ("--base-url", "staging.example.com"), {}, "--base-url must start with http:// or https://", id="url-scheme"
        ),
        pytest.param(("--base-url", "http://"), {}, "--base-url names no host: 'http://'", id="url-no-host"),
        pytest.param(
            ("--base-url", "http://staging.example.com:99999"), {}, "--base-url has a port that is not", id="url-port"
        ),
        pytest.param(
            ("--base-url", "http://staging.example.com/api?env=qa"),
            {},
            "--base-url is the server's address and path prefix only, without ?query or #fragment",
            id="url-query",
        ),
        pytest.param(("--request-timeout", "1e400"), {}, "--request-timeout must be a finite number", id="inf-timeout"),
        pytest.param(
            ("--coverage-json", "/proc/coverage.json"),
            {},
            "--coverage-json /proc/coverage.json: the run could not write there",
            id="coverage-json",
        ),
        pytest.param(
            ("--base-url", "https://staging.example.com"),
            {"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"},
            "REQUESTS_CA_BUNDLE=/nonexistent/ca.pem: no CA certificates can be read from it (No such file",
            id="ca-bundle",
        ),
        pytest.param(
            ("--base-url", "https://staging.example.com"),
            {"HTTPS_PROXY": "socks5://qa:proxy-pass-7f3a@proxy.example.com:1080"},
            "HTTPS_PROXY names a socks5:// proxy; the suite speaks to http:// proxies only",
            id="proxy-scheme",
        ),
    ],
)
def test_bad_option_is_one_clear_usage_error(args, env, message):
    result, _ = run(*HAND_WRITTEN, *args, env=env)
    assert result.returncode == 4, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


PROXY_USER, PROXY_PASSWORD = "qa", "proxy-pass-7f3a"


def test_http_target_through_a_proxy_with_credentials(reference):
    """HTTP_PROXY is honoured as requests and curl honour it: every request goes through the proxy, with the
    credentials of the proxy URL, which nothing the run prints shows."""
    url, env = reference
    with ForwardProxy(PROXY_USER, PROXY_PASSWORD) as proxy:
        proxy_url = proxy.url(f"{PROXY_USER}:{PROXY_PASSWORD}")
        result, _ = run(*HAND_WRITTEN, *target_args(url, PROFILE), *NO_RATE_LIMIT,
                        "--tb=long", "--showlocals", env={**env, "HTTP_PROXY": proxy_url})  # fmt: skip
    assert result.returncode == 0, result.tail()
    assert f"contract target: {url}; through the proxy 127.0.0.1:{proxy.port} (HTTP_PROXY)" in (result.stdout)
    assert len(proxy.seen) > 50 and all(line.startswith(f"PUT {url}/") for line in proxy.seen), proxy.seen[:3]
    assert PROXY_PASSWORD not in result.output and proxy.expected.split()[1] not in result.output


def test_no_proxy_sends_to_the_target_directly(reference):
    url, env = reference
    with ForwardProxy() as proxy:
        result, _ = run(*HAND_WRITTEN, *target_args(url, PROFILE), *NO_RATE_LIMIT,
                        env={**env, "HTTP_PROXY": proxy.url(), "NO_PROXY": "example.com,127.0.0.1"})  # fmt: skip
    assert result.returncode == 0, result.tail()
    assert proxy.seen == [] and "through the proxy" not in result.stdout


def test_https_target_through_a_proxy_tunnel(tls_reference, tls_files):
    url, env = tls_reference
    with ForwardProxy() as proxy:
        result, _ = run("contract_tests/test_token.py", *target_args(url, PROFILE), *NO_RATE_LIMIT,
                        env={**env, "REQUESTS_CA_BUNDLE": str(tls_files[0]), "HTTPS_PROXY": proxy.url()})  # fmt: skip
    assert result.returncode == 0, result.tail()
    host_port = url.removeprefix("https://")
    assert proxy.seen and set(proxy.seen) == {f"CONNECT {host_port}"}, proxy.seen[:3]


def test_the_embedded_server_is_never_reached_through_a_proxy():
    result, _ = run(*HAND_WRITTEN, env={"HTTP_PROXY": "http://127.0.0.1:9"})  # nothing listens there
    assert result.returncode == 0, result.tail()


WRONG_PASSWORD = "not-the-password-3c9e"


def refused_line(url: str, proxy: ForwardProxy, variable: str) -> str:
    return (
        f"cannot use the target {url}: the proxy refuses without credentials (HTTP 407): put them in its URL, "
        f"http://USER:PASSWORD@HOST:PORT (through the proxy 127.0.0.1:{proxy.port} of {variable})"
    )


@pytest.mark.parametrize(
    "credentials", [pytest.param(f"{PROXY_USER}:{WRONG_PASSWORD}", id="wrong"), pytest.param("", id="none")]
)
def test_a_proxy_that_refuses_the_credentials_is_one_clear_line(reference, credentials):
    url, env = reference
    with ForwardProxy(PROXY_USER, PROXY_PASSWORD) as proxy:
        result, _ = run(*HAND_WRITTEN, *target_args(url, PROFILE),
                        env={**env, "HTTP_PROXY": proxy.url(credentials)})  # fmt: skip
    assert result.returncode == 2, result.tail()
    assert refused_line(url, proxy, "HTTP_PROXY") in result.stdout
    assert WRONG_PASSWORD not in result.output


def test_a_proxy_that_refuses_the_tunnel_is_the_same_clear_line(tls_reference, tls_files):
    """HTTPS goes through CONNECT: a 407 there reads as it does for plain HTTP, not as a bare connection error."""
    url, env = tls_reference
    with ForwardProxy(PROXY_USER, PROXY_PASSWORD) as proxy:
        result, _ = run("contract_tests/test_token.py", *target_args(url, PROFILE),
                        env={**env, "REQUESTS_CA_BUNDLE": str(tls_files[0]),
                             "HTTPS_PROXY": proxy.url(f"{PROXY_USER}:{WRONG_PASSWORD}")})  # fmt: skip
    assert result.returncode == 2, result.tail()
    assert refused_line(url, proxy, "HTTPS_PROXY") in result.stdout
    assert proxy.seen and all(line.startswith("CONNECT ") for line in proxy.seen)
    assert WRONG_PASSWORD not in result.output


def test_an_unreachable_proxy_is_one_clear_line(reference):
    url, env = reference
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    result, _ = run(*HAND_WRITTEN, *target_args(url, PROFILE),
                    env={**env, "HTTP_PROXY": f"http://127.0.0.1:{closed_port}"})  # fmt: skip
    assert result.returncode == 2, result.tail()
    assert f"(through the proxy 127.0.0.1:{closed_port} of HTTP_PROXY)" in result.stdout
    assert "connection refused" in result.stdout
