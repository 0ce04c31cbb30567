"""The contract suite's fixtures: the settings, the target's endpoint (the URL given, or the embedded reference
server), the run once its preflight passed, the cases' Target, and the spec for the lint cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contract_suite.engine import preflight
from contract_suite.engine.account import AccountKeeper
from contract_suite.engine.environment import EnvironmentCheck
from contract_suite.engine.refusals import CodeRefusals
from contract_suite.engine.run import Run
from contract_suite.engine.settings import DEFAULT_PAGE, Settings
from contract_suite.engine.target import Target
from contract_suite.keys import SESSION
from contract_suite.openapi import knife4j, spec
from contract_suite.outcomes import EXIT_CANNOT_JUDGE, CannotJudge
from contract_suite.testdata.sms_codes import CodeSource, TokenUnavailable, fetch_token


@dataclass(frozen=True)
class Endpoint:
    """Where the target is, and the environment the profile's commands get there."""

    base_url: str
    command_env: dict[str, str] = field(repr=False)


@pytest.fixture(scope="session")
def contract_settings(pytestconfig: pytest.Config) -> Settings:
    return pytestconfig.stash[SESSION].settings


@pytest.fixture(scope="session")
def endpoint(contract_settings: Settings, tmp_path_factory: pytest.TempPathFactory):
    """The URL given, or the embedded reference server started for this session (stopped at its end)."""
    if not contract_settings.embedded:
        yield Endpoint(contract_settings.base_url, dict(contract_settings.command_env))
        return
    from reference_server import create_app, start_embedded

    database = tmp_path_factory.mktemp("reference-server") / "reference.sqlite3"
    server = start_embedded(create_app({"DATABASE": str(database)}))
    try:  # the profile's code command (python -m reference_server issue-code) finds the database here
        yield Endpoint(server.base_url, {**contract_settings.command_env, "REFERENCE_SERVER_DB": str(database)})
    finally:
        server.stop()


@pytest.fixture(scope="session")
def base_url(endpoint: Endpoint) -> str:
    return endpoint.base_url


def start_run(config: pytest.Config, settings: Settings, endpoint: Endpoint, preflight_checks: bool) -> Run:
    """The run against the target, once the preflight says it can judge it; else CannotJudge (an error of the first
    case, one line why, and the run stops with exit 2). Called by xdist's controller before any worker starts, it
    exits the session instead."""
    session = config.stash[SESSION]
    secrets = session.secrets
    run = Run(settings, endpoint.base_url, secrets, session.coverage, session.tokens)
    session.run = run
    profile = settings.profile
    problem = None
    if profile.token_command and "valid" not in run.tokens:
        try:
            run.use_token("valid", fetch_token(profile, endpoint.command_env, secrets))
        except TokenUnavailable as exc:
            problem = f"the [tokens] command failed: {exc}"
    if problem is None and preflight_checks:
        problem = preflight.target_problem(run)
    if problem:
        run.stop(problem)
        message = f"cannot use the target {endpoint.base_url}: {secrets.mask(problem)}"
        if config.pluginmanager.getplugin("dsession") is not None:  # xdist's controller: no case runs here
            pytest.exit(message, returncode=EXIT_CANNOT_JUDGE)
        raise CannotJudge(message)
    return run


@pytest.fixture(scope="session")
def contract_run(pytestconfig: pytest.Config, contract_settings: Settings, endpoint: Endpoint) -> Run:
    """The run against the target (an xdist worker skips the preflight: its controller ran it)."""
    worker = hasattr(pytestconfig, "workerinput")
    return start_run(pytestconfig, contract_settings, endpoint, preflight_checks=not worker)


@pytest.fixture(scope="session")
def target(contract_run: Run, endpoint: Endpoint) -> Target:
    profile = contract_run.settings.profile
    codes = CodeSource(profile, contract_run.secrets, endpoint.command_env)

    def refresh_token():
        """The [tokens] command run again, once, when the token expires during the run."""
        try:
            contract_run.use_token("valid", fetch_token(profile, endpoint.command_env, contract_run.secrets))
        except TokenUnavailable as exc:
            raise contract_run.stop(
                f"the valid token expired during the run, and the [tokens] command failed to fetch a fresh one: {exc}"
            ) from None
        return contract_run.tokens["valid"]

    refusals = CodeRefusals(contract_run.operation, codes)
    contract_run.code_refusals = refusals  # the verdict reads what the refusals said of the codes (summary.run_state)
    contract_run.code_source = codes  # ...and how many codes were asked for
    environment = EnvironmentCheck(contract_run, refresh_token if profile.token_command else None, refusals)
    return Target(contract_run, codes, AccountKeeper(contract_run, codes, environment), environment)


@pytest.fixture(scope="session")
def contract(contract_settings: Settings) -> spec.Operation:
    return contract_settings.operation


@pytest.fixture(scope="session")
def spec_path(contract_settings: Settings) -> Path:
    return contract_settings.spec_path


@pytest.fixture(scope="session")
def spec_document(spec_path: Path) -> dict:
    try:
        return spec.load_document(spec_path)
    except spec.SpecError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def knife4j_page(contract_settings: Settings) -> knife4j.Page:
    given = contract_settings.knife4j_page
    path = given or DEFAULT_PAGE
    if not path.is_file():
        if given:
            pytest.fail(f"--knife4j-page {path}: no such file", pytrace=False)
        pytest.skip(f"no knife4j page to check drift against: {path} does not exist (give one with --knife4j-page)")
    return knife4j.parse_file(path)
