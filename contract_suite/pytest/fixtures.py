"""The contract suite's fixtures: the settings, the target's endpoint (the URL given, or the embedded reference
server), the run once its preflight passed, the cases' toolkit, and the spec for the lint cases."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contract_suite.engine.case_toolkit import CaseToolkit
from contract_suite.engine.settings import DEFAULT_PAGE, Settings
from contract_suite.engine.start import Opened, open_run
from contract_suite.openapi import knife4j, spec
from contract_suite.outcomes import EXIT_CANNOT_JUDGE
from contract_suite.pytest.keys import SESSION
from contract_suite.pytest.translation import CannotJudgeSkip


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


def start_run(config: pytest.Config, settings: Settings, endpoint: Endpoint, preflight_checks: bool) -> Opened:
    """The run against the target, once the preflight says it can judge it; else CannotJudgeSkip (an error of the first
    case, one line why, and the run stops with exit 2). Called by xdist's controller before any worker starts, it
    exits the session instead."""
    session = config.stash[SESSION]
    secrets = session.secrets
    # the process that runs the preflight (xdist's controller, or the one process) holds the account's lock
    lock_folder = Path(tempfile.gettempdir()) if preflight_checks and not settings.embedded else None
    opened = open_run(
        settings,
        endpoint.base_url,
        secrets,
        session.coverage,
        session.tokens,
        endpoint.command_env,
        preflight_checks,
        lock_folder,
    )
    session.run = opened.run
    if opened.problem:
        message = f"cannot use the target {endpoint.base_url}: {secrets.mask(opened.problem)}"
        if config.pluginmanager.getplugin("dsession") is not None:  # xdist's controller: no case runs here
            pytest.exit(message, returncode=EXIT_CANNOT_JUDGE)
        raise CannotJudgeSkip(message)
    return opened


@pytest.fixture(scope="session")
def opened_run(pytestconfig: pytest.Config, contract_settings: Settings, endpoint: Endpoint) -> Opened:
    """The run against the target and its sending stack (an xdist worker skips the preflight: its controller ran
    it)."""
    worker = hasattr(pytestconfig, "workerinput")
    return start_run(pytestconfig, contract_settings, endpoint, preflight_checks=not worker)


@pytest.fixture(scope="session")
def target(opened_run: Opened) -> CaseToolkit:
    """The hand-written cases' toolkit, bound to the run against the target."""
    return CaseToolkit(opened_run.run, opened_run.stack)


@pytest.fixture(scope="session")
def operation(contract_settings: Settings) -> spec.Operation:
    """The spec's primary operation (a generic case parametrizes `operation` with each operation it runs for)."""
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
