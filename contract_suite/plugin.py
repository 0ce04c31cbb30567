"""The contract suite's pytest plugin: options, the target and its data, the run's header and coverage table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract_suite import knife4j, preflight, profile as profiles, spec
from contract_suite.client import Client, Secrets
from contract_suite.coverage import Coverage
from contract_suite.target import Target

DEFAULT_PAGE = spec.PROJECT_ROOT.parent / "shared" / "seed" / "setPhone.md"
REFERENCE_PROFILE = spec.PROJECT_ROOT / "profiles" / "reference.toml"
DEFAULT_TIMEOUT = 10.0
URL_RATE_LIMIT = 10.0  # requests a second to a target given by URL, unless told otherwise
URL_MAX_REQUESTS = 1000  # requests in one run to a target given by URL, unless told otherwise

CONTRACT = pytest.StashKey[spec.Contract]()
PROFILE = pytest.StashKey[profiles.Profile]()
COVERAGE = pytest.StashKey[Coverage]()
SECRETS = pytest.StashKey[Secrets]()
EMBEDDED = pytest.StashKey[bool]()


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _env_float(name: str) -> float | None:
    value = os.environ.get(name)
    try:
        return float(value) if value else None
    except ValueError:
        raise pytest.UsageError(f"{name} must be a number, got {value!r}") from None


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    try:
        return int(value) if value else None
    except ValueError:
        raise pytest.UsageError(f"{name} must be a whole number, got {value!r}") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract", "setPhone contract suite")
    group.addoption("--spec", default=os.environ.get("CONTRACT_SPEC"), metavar="PATH",
                    help="OpenAPI document holding the contract (env CONTRACT_SPEC; default: spec/openapi.yaml of this project)")
    group.addoption("--knife4j-page", default=os.environ.get("CONTRACT_KNIFE4J_PAGE"), metavar="PATH",
                    help="knife4j markdown page the spec is checked against for drift "
                         "(env CONTRACT_KNIFE4J_PAGE; default: ../shared/seed/setPhone.md when it exists)")
    group.addoption("--profile", default=os.environ.get("CONTRACT_PROFILE"), metavar="PATH",
                    help="TOML test data for the target: tokens, phones, SMS codes (env CONTRACT_PROFILE; "
                         "default: profiles/reference.toml for the embedded server, none for a URL)")
    group.addoption("--allow-destructive", action="store_true", default=_env_flag("CONTRACT_ALLOW_DESTRUCTIVE"),
                    help="run the success case on a URL target: it changes the test account's phone and restores it "
                         "(env CONTRACT_ALLOW_DESTRUCTIVE=1; always allowed on the embedded server)")
    group.addoption("--request-timeout", type=float, default=_env_float("CONTRACT_TIMEOUT") or DEFAULT_TIMEOUT,
                    metavar="SECONDS", help="give up on an answer after this long (env CONTRACT_TIMEOUT; default %(default)s)")
    group.addoption("--coverage-json", default=os.environ.get("CONTRACT_COVERAGE_JSON"), metavar="PATH",
                    help="also write the documented-code coverage table as JSON here (env CONTRACT_COVERAGE_JSON)")
    # The generated (schemathesis) layer, contract_tests/test_generated.py; defaults in schemathesis.toml.
    group.addoption("--generated-examples", type=int, default=os.environ.get("CONTRACT_GENERATED_EXAMPLES"), metavar="N",
                    help="cases the generated layer's fuzzing phase sends, positive and negative together "
                         "(env CONTRACT_GENERATED_EXAMPLES; default: generation.max-examples in schemathesis.toml)")
    group.addoption("--generated-seed", type=int, default=os.environ.get("CONTRACT_GENERATED_SEED"), metavar="N",
                    help="seed of the generated layer, to explore other cases or replay a run "
                         "(env CONTRACT_GENERATED_SEED; default: seed in schemathesis.toml)")
    group.addoption("--rate-limit", type=float, default=_env_float("CONTRACT_RATE_LIMIT"), metavar="PER_SECOND",
                    help=f"at most this many requests a second, both layers (env CONTRACT_RATE_LIMIT; default "
                         f"{URL_RATE_LIMIT:g} for a URL target, none for the embedded server; 0: no limit)")
    group.addoption("--max-requests", type=int, default=_env_int("CONTRACT_MAX_REQUESTS"), metavar="N",
                    help=f"send at most N requests in the run; the cases past it are skipped (env CONTRACT_MAX_REQUESTS; "
                         f"default {URL_MAX_REQUESTS} for a URL target, none for the embedded server; 0: no cap)")
    group.addoption("--insecure", action="store_true", default=_env_flag("CONTRACT_INSECURE"),
                    help="do not verify the target's TLS certificate (env CONTRACT_INSECURE=1); "
                         "for a private CA prefer REQUESTS_CA_BUNDLE=/path/to/ca.pem")


def given_base_url(config: pytest.Config, profile: profiles.Profile | None = None) -> str | None:
    """The URL the user gave: --base-url / PYTEST_BASE_URL, the base_url ini key, then the profile."""
    return config.getoption("base_url") or config.getini("base_url") or (profile.base_url if profile else None)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("request_timeout") <= 0:
        raise pytest.UsageError(f"--request-timeout must be more than 0 s, got {config.getoption('request_timeout')}")
    examples = config.getoption("generated_examples")
    if examples is not None and examples < 1:
        raise pytest.UsageError(f"--generated-examples must be at least 1, got {examples}")
    for name in ("rate_limit", "max_requests"):
        value = config.getoption(name)
        if value is not None and value < 0:
            raise pytest.UsageError(f"--{name.replace('_', '-')} must be 0 (no limit) or more, got {value:g}")
    try:
        contract = spec.load(config.getoption("spec"))
    except spec.SpecError as exc:
        raise pytest.UsageError(f"cannot load the contract: {exc}") from None
    path = config.getoption("profile")
    try:
        profile = profiles.load(path)
        embedded = given_base_url(config, profile) is None
        if embedded and path is None:
            profile = profiles.load(REFERENCE_PROFILE)
    except profiles.ProfileError as exc:
        raise pytest.UsageError(str(exc)) from None
    url = given_base_url(config, profile)
    if url and not url.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--base-url must start with http:// or https://, got {url!r}")
    secrets = Secrets()
    for role, value in profile.tokens.items():
        secrets.add(value, f"{role}-token")
    for value in profile.static_codes.values():
        secrets.add(value, "sms-code")
    config.stash[CONTRACT] = contract
    config.stash[PROFILE] = profile
    config.stash[EMBEDDED] = embedded
    config.stash[SECRETS] = secrets
    config.stash[COVERAGE] = Coverage(contract)
    _ACTIVE.append(config)
    if not embedded and config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        # A bare `pytest` against a URL runs the contract suite only: the project's self-tests
        # (tests/) start servers of their own and say nothing about the target.
        config.args = [a for a in config.args if Path(a).name != "tests"]
    if config.getoption("insecure"):
        # one warning for the run, not urllib3's one per request
        config.addinivalue_line("filterwarnings", "ignore::urllib3.exceptions.InsecureRequestWarning")
        config.issue_config_time_warning(
            pytest.PytestWarning(f"--insecure: the TLS certificate of {url or 'the target'} is not verified"), stacklevel=2
        )


# Under pytest-xdist: modules whose cases neither use the test account nor its SMS codes, so
# they may run anywhere at any time. Every other case runs on one worker, one at a time:
# a new module is serialized until it is listed here (the safe default).
PARALLEL_SAFE_MODULES = ("contract_tests/test_spec_lint.py", "contract_tests/test_generated.py")
ACCOUNT_SCOPE = "contract_tests (cases sharing the test account)"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Schedule by scope: all account cases form one scope; each other case is a scope of its own.
    (xdist_group would do it, but pytest-xdist cannot tag node ids under pytest 9.2.)"""
    if config.getoption("dist") != "load":
        return None  # the user chose a mode: keep it
    from xdist.scheduler import LoadScopeScheduling

    class AccountScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.startswith("contract_tests/") and not path.endswith(PARALLEL_SAFE_MODULES):
                return ACCOUNT_SCOPE
            return nodeid

    return AccountScopeScheduling(config, log)


def politeness(config: pytest.Config) -> tuple[float | None, int | None]:
    """(requests a second, requests in all) for this run's target; None: no limit."""
    embedded = config.stash[EMBEDDED]
    rate, cap = config.getoption("rate_limit"), config.getoption("max_requests")
    rate = (None if embedded else URL_RATE_LIMIT) if rate is None else rate
    cap = (None if embedded else URL_MAX_REQUESTS) if cap is None else cap
    return (rate or None), (cap or None)


def pytest_unconfigure(config: pytest.Config) -> None:
    if config in _ACTIVE:
        _ACTIVE.remove(config)


# The configured session, for test modules that need the contract and profile at import time
# (schemathesis takes its schema, token and settings when the module is collected, before any fixture).
_ACTIVE: list[pytest.Config] = []


def active_config() -> pytest.Config:
    if not _ACTIVE:
        raise RuntimeError("no pytest session has configured contract_suite.plugin (run the tests with pytest from the project)")
    return _ACTIVE[-1]


def active_contract() -> spec.Contract:
    return active_config().stash[CONTRACT]


def active_profile() -> profiles.Profile:
    return active_config().stash[PROFILE]


def contract_of(config: pytest.Config) -> spec.Contract:
    """The loaded contract, for pytest_generate_tests in case modules."""
    return config.stash[CONTRACT]


def pytest_report_header(config: pytest.Config) -> list[str]:
    contract, profile = config.stash[CONTRACT], config.stash[PROFILE]
    if config.stash[EMBEDDED]:
        target = "embedded reference server (127.0.0.1, port chosen at start; no --base-url given)"
        destructive = "allowed (embedded target)"
    else:
        target = given_base_url(config, profile)
        destructive = "allowed (--allow-destructive)" if config.getoption("allow_destructive") else "refused (pass --allow-destructive)"
    rate, cap = politeness(config)
    tls = "OFF (--insecure): certificates are not verified" if config.getoption("insecure") else "verified"
    return [
        f"contract target: {target}; TLS {tls}",
        f"contract politeness: {f'at most {rate:g} requests/s' if rate else 'no rate limit'}, "
        f"{f'at most {cap} requests' if cap else 'no request cap'}",
        f"contract profile: {profile.source}",
        f"contract spec: {contract.spec_path} ({contract.title}, version {contract.version})",
        f"contract request timeout: {config.getoption('request_timeout'):g} s; destructive cases: {destructive}",
    ]


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The target's URL: the one given, or the embedded reference server started for this session."""
    config = request.config
    if not config.stash[EMBEDDED]:
        url = given_base_url(config, config.stash[PROFILE])
        verify = not config.getoption("insecure")
        problem = preflight.probe(url + config.stash[CONTRACT].path, config.stash[CONTRACT].method,
                                  config.getoption("request_timeout"), verify)
        if problem:
            pytest.exit(f"cannot use the target {url}: {problem}", returncode=pytest.ExitCode.INTERRUPTED)
        yield url
        return
    from reference_server import create_app, start_embedded

    database = tmp_path_factory.mktemp("reference-server") / "reference.sqlite3"
    app = create_app({"DATABASE": str(database)})
    config.stash[PROFILE].command_env["REFERENCE_SERVER_DB"] = str(database)
    server = start_embedded(app)
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, base_url: str) -> Target:
    config = request.config
    contract, profile, secrets = config.stash[CONTRACT], config.stash[PROFILE], config.stash[SECRETS]
    token_header = profile.token_header or contract.token_header
    rate, cap = politeness(config)
    client = Client(base_url, contract, token_header, config.getoption("request_timeout"), secrets,
                    verify=not config.getoption("insecure"), rate=rate, cap=cap)
    codes = profiles.CodeSource(profile, on_secret=lambda value: secrets.add(value, "sms-code"))
    return Target(
        base_url=base_url,
        embedded=config.stash[EMBEDDED],
        contract=contract,
        profile=profile,
        client=client,
        codes=codes,
        secrets=secrets,
        coverage=config.stash[COVERAGE],
        allow_destructive=config.getoption("allow_destructive"),
    )


@pytest.fixture(scope="session")
def contract(pytestconfig: pytest.Config) -> spec.Contract:
    return pytestconfig.stash[CONTRACT]


@pytest.fixture(scope="session")
def spec_path(pytestconfig: pytest.Config) -> Path:
    return Path(pytestconfig.getoption("spec") or spec.DEFAULT_SPEC).resolve()


@pytest.fixture(scope="session")
def spec_document(spec_path: Path) -> dict:
    try:
        return spec.load_document(spec_path)
    except spec.SpecError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def knife4j_page(pytestconfig: pytest.Config) -> knife4j.Page:
    given = pytestconfig.getoption("knife4j_page")
    path = Path(given) if given else DEFAULT_PAGE
    if not path.is_file():
        if given:
            pytest.fail(f"--knife4j-page {path}: no such file", pytrace=False)
        pytest.skip(f"no knife4j page to check drift against: {path} does not exist (give one with --knife4j-page)")
    return knife4j.parse_file(path)


# -- coverage: which documented codes each case exercises, and why some were skipped --


def exercised_by(item: pytest.Item) -> set[int]:
    contract = item.config.stash[CONTRACT]
    codes: set[int] = set()
    for mark in item.iter_markers("exercises"):
        for value in mark.args:
            codes.add(contract.code_named(value) if isinstance(value, str) else value)
    return codes


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.skipped and report.when in ("setup", "call"):
        codes = exercised_by(item)
        if codes:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            item.config.stash[COVERAGE].skip(codes, reason.removeprefix("Skipped: "))
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its coverage to the controller, which merges it in pytest_testnodedown."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None and COVERAGE in session.config.stash:
        workeroutput["contract_coverage"] = session.config.stash[COVERAGE].state()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    data = getattr(node, "workeroutput", {}).get("contract_coverage")
    if data:
        node.config.stash[COVERAGE].merge(data)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    coverage = config.stash.get(COVERAGE, None)
    if coverage is None or not (coverage.seen or coverage.exercised_codes or coverage.skipped):
        return
    terminalreporter.section("documented-code coverage")
    for line in coverage.table():
        terminalreporter.write_line(line)
    path = config.getoption("coverage_json")
    if path:
        coverage.write_json(path)
        terminalreporter.write_line(f"coverage JSON written to {path}")

