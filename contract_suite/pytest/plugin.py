"""The contract suite's pytest plugin: hooks only. Each concern is an object of its own, made in pytest_configure
and registered there: the verdict (contract_suite.reporting.summary.Verdict), masking (pytest.masking), coverage
recording from reports (pytest.recording), xdist workers' results (pytest.workers), and the HTML and Allure reports;
the fixtures, the scheduling, collection and the API the case files import live in contract_suite.pytest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract_suite.engine.coverage import STATE_RULES, Coverage
from contract_suite.engine.evidence import CaseEvidence
from contract_suite.engine.reproduce import exchange_text
from contract_suite.engine.settings import DEFAULT_PAGE
from contract_suite.openapi.inputs import input_problems
from contract_suite.pytest import fixtures, scheduling
from contract_suite.pytest.collection import CaseModule, name_generated_operations
from contract_suite.pytest.items import exercised_by, operation_of, state_rule_of
from contract_suite.pytest.keys import (  # noqa: F401 (re-exported: report plugins and self-tests read them here)
    CANNOT_JUDGE,
    CODES,
    EVIDENCE,
    EXCHANGE,
    OPERATION,
    RAN,
    RULE,
    SESSION,
)
from contract_suite.pytest.masking import ReportMasking
from contract_suite.pytest.options import add_options, resolve
from contract_suite.pytest.recording import CoverageRecording
from contract_suite.pytest.rerun import rerun_command
from contract_suite.pytest.session import ContractSession, profile_tokens
from contract_suite.pytest.translation import CannotJudgeSkip, NotJudgedSkip, as_pytest_outcomes
from contract_suite.pytest.workers import WorkerResults
from contract_suite.reporting import summary
from contract_suite.secrets import Secrets, install_log_masking

# A contract case uses one of these fixtures (the cases' toolkit, the generated layer's, or the spec the lint reads).
CASE_FIXTURES = frozenset({"target", "generated_target", "spec_document"})


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _selects_inferred(markexpr: str) -> bool:
    """Whether -m selects a case marked both `inferred` and `generated` (False under -m "not inferred")."""
    if not markexpr:
        return True
    from _pytest.mark.expression import Expression  # pytest's own -m grammar, to agree with it exactly

    try:
        expression = Expression.compile(markexpr)
    except Exception:  # pytest reports a bad -m itself
        return True
    return expression.evaluate(lambda name, **_: name in {"inferred", "generated"})


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("contract-fixtures"):
        config.pluginmanager.register(fixtures, "contract-fixtures")  # the fixtures, in a module of their own
    settings = resolve(config, os.environ, _selects_inferred(config.getoption("markexpr", "")))
    secrets = Secrets()
    for value in settings.profile.static_codes.values():
        secrets.add(value, "sms-code")
    for value in settings.proxies.secrets():
        secrets.add(value, "proxy-authorization")
    page = settings.knife4j_page or DEFAULT_PAGE
    problems = tuple(input_problems(settings.spec_path, page, page_given=settings.knife4j_page is not None))
    verdict = summary.Verdict(CANNOT_JUDGE, input_problems=problems)
    coverage = Coverage(settings.operation, settings.operations, rules=STATE_RULES)
    log_masking = install_log_masking(secrets)
    config.stash[SESSION] = ContractSession(
        settings,
        secrets,
        coverage,
        verdict,
        log_masking,
        tokens=profile_tokens(settings, secrets),
        masking=ReportMasking(secrets, log_masking),
        recording=CoverageRecording(coverage, secrets),
        workers=WorkerResults(coverage, verdict),
        input_problems=problems,
    )
    config.pluginmanager.register(verdict, "contract-verdict")  # counts every test report
    config.addinivalue_line(
        "markers",
        "operation(label): the operation (operationId) a generic case is about; without it, the primary operation",
    )
    session = config.stash[SESSION]
    config.pluginmanager.register(session.masking, "contract-masking")
    config.pluginmanager.register(session.workers, "contract-workers")
    if not settings.embedded and config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        # A bare `pytest` against a URL runs the contract suite only: the project's self-tests
        # (tests/) start servers of their own and say nothing about the target.
        config.args = [a for a in config.args if Path(a).name != "tests"]
    if settings.insecure:
        config.addinivalue_line("filterwarnings", "ignore::urllib3.exceptions.InsecureRequestWarning")
        config.issue_config_time_warning(
            pytest.PytestWarning(
                f"--insecure: the TLS certificate of {settings.base_url or 'the target'} is not verified"
            ),
            stacklevel=2,
        )

    _register_report_plugins(config)


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if module_path.name == "__init__.py":
        return None  # a package: pytest's own
    return CaseModule.from_parent(parent, path=module_path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[SESSION].input_problems:
        # the suite's own input is wrong: only the lint cases run (they say where); nothing is sent to the target
        deselected = [item for item in items if item.get_closest_marker("lint") is None]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item.get_closest_marker("lint") is not None]
    name_generated_operations(items)
    for item in items:
        name = state_rule_of(item)
        if name is not None and name not in STATE_RULES:
            raise pytest.UsageError(
                f"{item.nodeid}: state_rule({name!r}) names no rule of contract_suite.engine.coverage.STATE_RULES"
            )
    # The rules of state last: each builds on what the one-fault cases judge (a code verifies its number, a valid
    # change is made and restored), so on a target where those break, the case that says so plainly speaks first.
    items.sort(key=lambda item: state_rule_of(item) is not None)  # stable: the order is kept otherwise


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    return scheduling.make_scheduler(config, log)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return summary.header(config.stash[SESSION].settings)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under pytest-xdist, the controller runs the preflight once, before any worker starts: one line and exit 2
    when the target cannot be judged, instead of every worker failing its own way."""
    config = session.config
    settings = config.stash[SESSION].settings
    controller = config.pluginmanager.getplugin("dsession") is not None
    if (
        controller
        and not settings.embedded
        and not config.option.collectonly
        and not config.stash[SESSION].input_problems
    ):
        fixtures.start_run(
            config, settings, fixtures.Endpoint(settings.base_url, dict(settings.command_env)), preflight_checks=True
        )


# -- reports: secrets masked, cannot-judge as errors, coverage of skipped codes -----------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    made = yield
    config = item.config
    session = config.stash[SESSION]
    secrets = session.secrets
    item.stash[RAN] = True
    if call.excinfo is not None and isinstance(call.excinfo.value, CannotJudgeSkip):
        # not a contract failure, not a skip: an error of this case (E), and the run's exit is 2
        made.outcome = "failed"
        made.when = "setup"
        made.longrepr = str(call.excinfo.value.msg)
        made.user_properties.append(CANNOT_JUDGE)
    elif made.skipped and made.when in ("setup", "call"):
        if (
            call.excinfo is not None
            and isinstance(call.excinfo.value, NotJudgedSkip)
            and isinstance(made.longrepr, tuple)
        ):
            made.longrepr = (*made.longrepr[:2], f"Skipped: {call.excinfo.value.msg}")  # not the class's name
        if isinstance(made.longrepr, tuple) and "contract_suite" in Path(str(made.longrepr[0])).parts:
            # raised inside the suite's machinery: the skip summary points at the case instead
            path, line, _ = item.location
            made.longrepr = (path, (line or 0) + 1, made.longrepr[2])
    session.recording.record(item, call, made)
    run = session.run
    evidence = item.stash.get(EVIDENCE, None)
    if evidence is not None and (made.when == "call" or (made.when == "setup" and made.failed)):
        evidence.cannot_judge = CANNOT_JUDGE in made.user_properties
        properties = [(CODES, " ".join(map(str, evidence.codes)))] if evidence.codes else []
        properties.insert(0, (OPERATION, evidence.operation))
        properties += [(EXCHANGE, exchange_text(answer, secrets)) for answer in evidence.exchanges]
        properties += [(RULE, rule) for rule in evidence.rules]
        if made.failed and made.when == "call" and run is not None and not evidence.cannot_judge:
            run.ledger.case_failed(item.nodeid, evidence)  # the verdict weighs what its failures hinge on
        made.user_properties += properties
        item.user_properties += properties  # JUnit writes the item's properties
    session.masking.mask(made)
    if run is not None and run.stopped and not item.session.shouldstop:
        item.session.shouldstop = f"cannot judge the target {run.base_url}: {run.stopped}"
    return made


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """A case's body raises the engine's outcomes (contract_suite.outcomes): pytest sees its own, a failure with
    the command that judges just this case again."""
    if not CASE_FIXTURES.intersection(pyfuncitem.fixturenames):
        return (yield)  # not a contract case (a self-test): the engine's outcomes are its own failures
    config = pyfuncitem.config
    rerun = rerun_command(config, config.stash[SESSION].settings, pyfuncitem.nodeid)
    with as_pytest_outcomes(rerun=config.stash[SESSION].secrets.mask(rerun)):
        return (yield)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Each case gets its evidence object before it runs; the run records into it while the case runs."""
    operation = operation_of(item)
    item.stash[EVIDENCE] = CaseEvidence(item.nodeid, operation.label, tuple(sorted(exercised_by(item, operation))))
    _attach(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    _attach(item)  # the run may have been made by this case's own fixtures (the first case's)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    run = item.config.stash[SESSION].run
    if run is not None:
        run.ledger.case = None


def _attach(item: pytest.Item) -> None:
    run = item.config.stash[SESSION].run
    if run is not None:
        run.ledger.case = item.stash[EVIDENCE]


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    contract_session = config.stash[SESSION]
    run = contract_session.run
    if run is not None and run.account_lock is not None:
        run.account_lock.release()  # every case has run: the account is free for the next run
    if run is not None and run.stopped:
        contract_session.recording.not_reached(session)
    ledger = run.settled_ledger() if run is not None else None
    if contract_session.workers.hand_over(config, contract_session.coverage, ledger):
        return  # an xdist worker: the controller decides the verdict
    verdict = contract_session.verdict
    verdict.add_ledger(ledger)
    session.exitstatus = verdict.exit_status(session.exitstatus, contract_session.settings, contract_session.coverage)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    summary.terminal_summary(
        terminalreporter,
        config.stash[SESSION].settings,
        config.stash[SESSION].coverage,
        config.stash[SESSION].verdict,
        config.stash[SESSION].secrets,
    )


# -- report plugins: pytest-html and Allure, when installed (the `reports` extra) ------------------------


def _register_report_plugins(config: pytest.Config) -> None:
    """The run in the reports of pytest-html (--html) and allure-pytest (--alluredir), when those plugins are
    loaded: contract_suite/reporting/html_report.py and allure_report.py, each registered only when asked for."""
    from contract_suite.reporting import allure_report, html_report

    session = config.stash[SESSION]
    parts = (session.settings, session.secrets, session.coverage, session.verdict)
    html_report.register(config, *parts)
    allure_report.register(config, *parts)
