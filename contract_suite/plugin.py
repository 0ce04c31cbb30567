"""The contract suite's pytest plugin, its hooks: settings resolved once, secrets masked in every report and log
record, cannot-judge cases as errors, and the verdict (exit 0 holds, 1 broken, 2 cannot judge, 4 bad input).
The fixtures are in contract_suite.pytest.fixtures, the xdist scheduling in contract_suite.pytest.scheduling, the
verdict in contract_suite.reporting.summary (and the reports in contract_suite.reporting.html_report and
allure_report)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contract_suite.engine.evidence import CaseEvidence
from contract_suite.engine.judging import exchange_text
from contract_suite.engine.settings import add_options, resolve
from contract_suite.keys import (  # noqa: F401 (re-exported: report plugins and self-tests read them here)
    CANNOT_JUDGE,
    CODES,
    EVIDENCE,
    EXCHANGE,
    OPERATION,
    RAN,
    RULE,
    SESSION,
    SUSPECT,
)
from contract_suite.openapi import spec
from contract_suite.outcomes import CannotJudge, NotJudged
from contract_suite.pytest import fixtures, scheduling
from contract_suite.pytest.session import ContractSession, profile_tokens
from contract_suite.reporting import summary
from contract_suite.reporting.coverage import BROKEN, CANNOT_JUDGE_RULE, HELD, SKIPPED, STATE_RULES, Coverage
from contract_suite.secrets import Secrets, install_log_masking, remove_log_masking


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
    verdict = summary.Verdict(CANNOT_JUDGE)
    config.stash[SESSION] = ContractSession(
        settings,
        secrets,
        Coverage(settings.contract, settings.operations, rules=STATE_RULES),
        verdict,
        install_log_masking(secrets),
        tokens=profile_tokens(settings, secrets),
    )
    config.pluginmanager.register(verdict, "contract-verdict")  # counts every test report
    config.addinivalue_line(
        "markers",
        "operation(label): the operation (operationId) a generic case is about; without it, the primary operation",
    )
    config.pluginmanager.register(InternalErrorMasking(secrets), "contract-internalerror-masking")
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


class CaseModule(pytest.Module):
    """A case module that may build its tests from the session: when it defines `cases_for(session)`, the collector
    calls it with the run's session and adds the tests it returns to the module (the generated layer's tests are
    built by schemathesis from a schema, before any fixture exists). The session is handed over, never looked up."""

    def _getobj(self):
        module = super()._getobj()
        build = getattr(module, "cases_for", None)
        if callable(build):
            for name, test in build(self.config.stash[SESSION]).items():
                setattr(module, name, test)
        return module


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if module_path.name == "__init__.py":
        return None  # a package: pytest's own
    return CaseModule.from_parent(parent, path=module_path)


def _operation_of(item: pytest.Item) -> spec.Operation:
    """The operation a case is about: its `operation` mark's, or the generated case's (schemathesis names it
    `METHOD path`), else the primary one."""
    settings = item.config.stash[SESSION].settings
    mark = item.get_closest_marker("operation")
    generated = getattr(item, "operation_label", None)
    for contract in settings.operations:
        if (mark is not None and contract.label == mark.args[0]) or generated == f"{contract.method} {contract.path}":
            return contract
    return settings.contract


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION, None)
    if session is not None:
        remove_log_masking(session.log_masking)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _name_generated_operations(items)
    for item in items:
        name = _state_rule_of(item)
        if name is not None and name not in STATE_RULES:
            raise pytest.UsageError(
                f"{item.nodeid}: state_rule({name!r}) names no rule of contract_suite.reporting.coverage.STATE_RULES"
            )
    # The rules of state last: each builds on what the one-fault cases judge (a code verifies its number, a valid
    # change is made and restored), so on a target where those break, the case that says so plainly speaks first.
    items.sort(key=lambda item: _state_rule_of(item) is not None)  # stable: the order is kept otherwise


def _state_rule_of(item: pytest.Item) -> str | None:
    """The rule of state a case judges (its `state_rule` mark), or None."""
    mark = item.get_closest_marker("state_rule")
    return mark.args[0] if mark is not None else None


def _name_generated_operations(items: list[pytest.Item]) -> None:
    """schemathesis names each generated case after its operation (`test_coverage[GET /path]`), but under pytest
    9.2 the node id loses that part: with several operations, their cases share one id (pytest-xdist would run
    one of them, and reports could not tell them apart). A generated case of an operation other than the primary
    one gets the operation in its node id, `test_coverage[getNickname]`; the primary's ids stay as they are."""
    for item in items:
        if getattr(item, "operation_label", None) is None:
            continue  # not a generated case
        operation = _operation_of(item)
        node_id = getattr(item, "_id", None)  # pytest 9.2's structured node id; older ones kept the name in it
        if operation.primary or getattr(node_id, "params", "") is not None:
            continue
        item._id = node_id.with_params(operation.label)


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
    if controller and not settings.embedded and not config.option.collectonly:
        fixtures.start_run(
            config, settings, fixtures.Endpoint(settings.base_url, dict(settings.command_env)), preflight_checks=True
        )


# -- reports: secrets masked, cannot-judge as errors, coverage of skipped codes -----------------------


class InternalErrorMasking:
    """An INTERNALERROR's traceback (its locals too, with --showlocals) goes through the mask before anyone prints
    it: the terminal, the stderr fallback and the JUnit XML all render the same object, made to render masked."""

    def __init__(self, secrets: Secrets):
        self.secrets = secrets

    @pytest.hookimpl(tryfirst=True)
    def pytest_internalerror(self, excrepr, excinfo) -> None:
        masked = self.secrets.mask(str(excrepr)).split("\n")

        def toterminal(tw) -> None:
            for line in masked:
                tw.line(line)

        excrepr.toterminal = toterminal  # the instance's own: str(excrepr) and every writer use it


def _mask_report(report_: pytest.TestReport | pytest.CollectReport, secrets: Secrets) -> None:
    longrepr = report_.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report_.longrepr = (longrepr[0], longrepr[1], secrets.mask(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        masked = secrets.mask(text)
        if masked != text or isinstance(longrepr, str):
            report_.longrepr = masked
    report_.sections = [(title, secrets.mask(content)) for title, content in report_.sections]
    if isinstance(report_, pytest.TestReport):
        report_.user_properties = [(k, secrets.mask_any(v)) for k, v in report_.user_properties]


def _exercised_by(item: pytest.Item, contract: spec.Operation) -> set[int]:
    codes: set[int] = set()
    for mark in item.iter_markers("exercises"):
        for value in mark.args:
            codes.add(contract.code_named(value) if isinstance(value, str) else value)
    return codes


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    made = yield
    config = item.config
    secrets = config.stash[SESSION].secrets
    item.stash[RAN] = True
    if call.excinfo is not None and isinstance(call.excinfo.value, CannotJudge):
        # not a contract failure, not a skip: an error of this case (E), and the run's exit is 2
        made.outcome = "failed"
        made.when = "setup"
        made.longrepr = str(call.excinfo.value.msg)
        made.user_properties.append(CANNOT_JUDGE)
    elif made.skipped and made.when in ("setup", "call"):
        if call.excinfo is not None and isinstance(call.excinfo.value, NotJudged) and isinstance(made.longrepr, tuple):
            made.longrepr = (*made.longrepr[:2], f"Skipped: {call.excinfo.value.msg}")  # not the class's name
        if isinstance(made.longrepr, tuple) and "contract_suite" in Path(str(made.longrepr[0])).parts:
            # raised inside the suite's machinery: the skip summary points at the case instead
            path, line, _ = item.location
            made.longrepr = (path, (line or 0) + 1, made.longrepr[2])
        operation = _operation_of(item)
        codes = _exercised_by(item, operation)
        if codes:
            reason = made.longrepr[2] if isinstance(made.longrepr, tuple) else str(made.longrepr)
            lacking = call.excinfo is not None and isinstance(call.excinfo.value, NotJudged)
            needs = call.excinfo.value.needs if lacking else None
            config.stash[SESSION].coverage.skip(
                codes, secrets.mask(reason.removeprefix("Skipped: ")), operation, lacking=lacking, needs=needs
            )
    _rule_outcome(item, made, secrets)
    run = config.stash[SESSION].run
    evidence = item.stash.get(EVIDENCE, None)
    if evidence is not None and (made.when == "call" or (made.when == "setup" and made.failed)):
        evidence.cannot_judge = CANNOT_JUDGE in made.user_properties
        properties = [(CODES, " ".join(map(str, evidence.codes)))] if evidence.codes else []
        properties.insert(0, (OPERATION, evidence.operation))
        properties += [(EXCHANGE, exchange_text(answer, secrets)) for answer in evidence.exchanges]
        properties += [(RULE, rule) for rule in evidence.rules]
        suspects = {failure.suspect for failure in evidence.failures}
        if made.failed and made.when == "call" and evidence.failures and "" not in suspects:
            properties.append((SUSPECT, " ".join(sorted(suspects))))  # every failure hinges on a refused code
        made.user_properties += properties
        item.user_properties += properties  # JUnit writes the item's properties
    _mask_report(made, secrets)
    if run is not None and run.stopped and not item.session.shouldstop:
        item.session.shouldstop = f"cannot judge the target {run.base_url}: {run.stopped}"
    return made


def _rule_outcome(item: pytest.Item, made: pytest.TestReport, secrets: Secrets) -> None:
    """What the case's outcome says of the rule of state it judges: held, broken, skipped or not judged (why)."""
    name = _state_rule_of(item)
    if name is None or not (made.when == "call" or (made.when == "setup" and not made.passed)):
        return
    coverage = item.config.stash[SESSION].coverage
    if CANNOT_JUDGE in made.user_properties:
        coverage.rule_outcome(name, CANNOT_JUDGE_RULE, secrets.mask(str(made.longrepr)).partition("\n")[0])
    elif made.skipped:
        reason = made.longrepr[2] if isinstance(made.longrepr, tuple) else str(made.longrepr)
        coverage.rule_outcome(name, SKIPPED, secrets.mask(reason.removeprefix("Skipped: ")))
    elif made.when == "call":
        coverage.rule_outcome(name, BROKEN if made.failed else HELD)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Each case gets its evidence object before it runs; the run records into it while the case runs."""
    operation = _operation_of(item)
    item.stash[EVIDENCE] = CaseEvidence(operation.label, tuple(sorted(_exercised_by(item, operation))))
    _attach(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    _attach(item)  # the run may have been made by this case's own fixtures (the first case's)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    run = item.config.stash[SESSION].run
    if run is not None:
        run.case = None


def _attach(item: pytest.Item) -> None:
    run = item.config.stash[SESSION].run
    if run is not None:
        run.case = item.stash[EVIDENCE]


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    made = yield
    _mask_report(made, collector.config.stash[SESSION].secrets)
    return made


def _not_reached(session: pytest.Session, run) -> None:
    """The cases a stop left unrun: their codes are not judged because the run stopped, and say so."""
    if run is None or not run.stopped:
        return
    for item in session.items:
        if item.stash.get(RAN, False):
            continue
        operation = _operation_of(item)
        codes = _exercised_by(item, operation)
        if codes:
            session.config.stash[SESSION].coverage.skip(
                codes, "the run stopped before this case", operation, lacking=True
            )
        rule = _state_rule_of(item)
        if rule is not None:
            session.config.stash[SESSION].coverage.rule_outcome(
                rule, CANNOT_JUDGE_RULE, "the run stopped before this case"
            )


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    run = config.stash[SESSION].run
    _not_reached(session, run)
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand its part of the verdict to the controller
        workeroutput["contract_coverage"] = config.stash[SESSION].coverage.state()
        workeroutput["contract_run"] = summary.run_state(run)
        return
    contract_session = config.stash[SESSION]
    verdict = contract_session.verdict
    verdict.add_run(summary.run_state(run))
    session.exitstatus = verdict.exit_status(session.exitstatus, contract_session.settings, contract_session.coverage)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    output = getattr(node, "workeroutput", {})
    if output.get("contract_coverage"):
        node.config.stash[SESSION].coverage.merge(output["contract_coverage"])
    if output.get("contract_run"):
        node.config.stash[SESSION].verdict.add_run(output["contract_run"])


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
