"""The contract run in Allure's results (allure-pytest, --alluredir): each case titled by its rule, labelled by its
own operation (feature, `operation`) and business codes (story, `business-code`), its failures and requests
attached; the run's identity (executor.json: the verdict and the judged line as the report's name), its header,
verdict and coverage (environment.properties, attachments) and categories.json, whose per-code categories come
before the catch-all (Allure files a result under the first category that matches). Everything written is
masked; pytest's anonymous fixture finalizers are left out of the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contract_suite.engine.coverage import Coverage
from contract_suite.engine.evidence import CaseEvidence, failures_text
from contract_suite.engine.reproduce import exchange_text
from contract_suite.engine.settings import Settings
from contract_suite.pytest.keys import EVIDENCE
from contract_suite.reporting import coverage_table
from contract_suite.reporting.case_view import (
    code_words,
    exchange_title,
    is_case_outcome,
    operation_of,
    operation_words,
    title_of,
)
from contract_suite.reporting.summary import Verdict, codes_words, costs_words, header, verdict_line
from contract_suite.secrets import Secrets

ANONYMOUS_FINALIZER = "::<lambda>"  # how allure-pytest names pytest's own finalizers of a fixture


def register(config: pytest.Config, settings: Settings, secrets: Secrets, coverage: Coverage, verdict: Verdict):
    """Add the contract's parts to Allure's results when allure-pytest is loaded and asked for (--alluredir)."""
    manager = config.pluginmanager
    if manager.hasplugin("allure_pytest") and config.getoption("allure_report_dir", None):
        reporter = AllureReport(settings, secrets, coverage, verdict, Path(config.option.allure_report_dir))
        manager.register(reporter, "contract-allure-report")
        reporter.mask_results_as_written(config)


ZERO_WIDTH_SPACE = "\u200b"  # a place a long test name may break in Allure's widgets


def categories(settings: Settings) -> list[dict]:
    """Allure's categories, most specific first: one per documented code a failed case expected (the `expected:`
    line of its message names the code), then "contract broken" for any other failed case, then "cannot judge"
    (a broken case). A failure that expects "any documented code but success" is filed under none of the codes."""
    codes = sorted({code for operation in settings.operations for code in operation.codes})
    by_code = [
        {
            # short: Allure's categories widget breaks a long name anywhere, mid-word included
            "name": f"contract broken: expected {code}",
            "matchedStatuses": ["failed"],
            # a failed case's message is its title (the category's second level); its failures are the trace
            "traceRegex": rf"(?s).*\n  expected: (?![^\n]*any documented code but)[^\n]*?\b{code}\b.*",
        }
        for code in codes
    ]
    return [
        *by_code,
        {"name": "contract broken", "matchedStatuses": ["failed"]},
        {"name": "cannot judge", "matchedStatuses": ["broken"], "messageRegex": "(?s).*cannot judge.*"},
    ]


def _operation_with(settings: Settings, code: int):
    return next((op for op in settings.operations if code in op.codes), settings.operation)


class AllureReport:
    """Titles, labels and attachments for allure-pytest's results; the run's identity, header, coverage and
    categories in the results folder at the end of the run."""

    def __init__(self, settings: Settings, secrets: Secrets, coverage: Coverage, verdict: Verdict, folder: Path):
        self.settings = settings
        self.secrets = secrets
        self.coverage = coverage
        self.verdict = verdict
        self.folder = folder
        # the case being reported: its title and its failures with the curl command folded (Allure's panels do not
        # wrap), for its result's message and trace as allure-pytest writes it (contract_suite's masking plugin)
        self.failed_case: tuple[str, str] | None = None

    def mask_results_as_written(self, config: pytest.Config) -> None:
        """Mask every string of a result or container as allure-pytest writes it (its messages come from the
        exception itself, not from the masked report); leave pytest's anonymous finalizers out."""
        import allure_commons

        allure_commons.plugin_manager.register(_allure_masking(self.secrets, self), "contract-allure-masking")
        config.add_cleanup(lambda: allure_commons.plugin_manager.unregister(name="contract-allure-masking"))

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outside the contract plugin's wrapper: its evidence is there
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        made = yield
        evidence = item.stash.get(EVIDENCE, None)
        if evidence is not None and is_case_outcome(made):
            self.annotate(item, evidence)
        return made

    def annotate(self, item: pytest.Item, evidence: CaseEvidence) -> None:
        import allure

        mask = self.secrets.mask
        operation = operation_of(self.settings, evidence)
        title = mask(title_of(item, evidence))
        allure.dynamic.title(title)
        folded = mask(failures_text(evidence.failures, folded=True))
        self.failed_case = (title, folded) if evidence.failures else None
        allure.dynamic.feature(operation_words(operation))
        allure.dynamic.label("operation", operation_words(operation))
        allure.dynamic.label("operationId", operation.label)
        for code in evidence.codes:
            allure.dynamic.story(code_words(operation, code))
            allure.dynamic.label("business-code", str(code))
        lines = [f"rule: {mask(rule)}" for rule in evidence.rules]
        if evidence.codes:
            lines.append("exercises: " + ", ".join(code_words(operation, c) for c in evidence.codes))
        if lines:
            allure.dynamic.description("\n\n".join(lines))
        for failure in evidence.failures:
            text = mask(failure.text(folded=True))
            allure.attach(text, name=f"failure: {mask(failure.rule)}", attachment_type="text/plain")
        for number, answer in enumerate(evidence.exchanges, 1):
            name = mask(exchange_title(number, answer))
            allure.attach(exchange_text(answer, self.secrets), name=name, attachment_type="text/plain")

    @pytest.hookimpl(trylast=True)  # after the contract plugin's: the verdict and the merged coverage are known
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if getattr(session.config, "workeroutput", None) is not None:
            return  # an xdist worker: the controller writes the run's files
        import allure

        self.folder.mkdir(parents=True, exist_ok=True)
        mask = self.secrets.mask
        (self.folder / "categories.json").write_text(
            json.dumps(categories(self.settings), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (self.folder / "environment.properties").write_text(self.environment(), encoding="utf-8")
        (self.folder / "executor.json").write_text(
            json.dumps(self.executor(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        table = "\n".join([*coverage_table.table(self.coverage), coverage_table.judged_line(self.coverage)])
        allure.global_attach(mask(table), name="documented-code coverage", attachment_type="text/plain")
        rules = coverage_table.rules_table(self.coverage)
        if rules:
            allure.global_attach(mask("\n".join(rules)), name="rules of state", attachment_type="text/plain")
        allure.global_attach(
            mask(json.dumps(coverage_table.as_json(self.coverage), indent=2, ensure_ascii=False)),
            name="documented-code coverage (JSON)",
            attachment_type="application/json",
        )

    def executor(self) -> dict:
        """Where Allure shows a run's identity (its Executors widget, the report's name): the verdict itself."""
        verdict = verdict_line(self.verdict, self.coverage, self.secrets) or "no verdict (nothing was sent)"
        target = self.secrets.mask(self.settings.base_url or "the embedded reference server")
        judged = f"judged {len(self.coverage.judged)} of {len(self.coverage.exercisable)} codes"
        return {
            "name": "setPhone contract suite",
            "type": "pytest",
            # the verdict first; a test name may break after its underscores, never mid-word; Allure writes the date
            # right after the name, hence the closing words
            "reportName": f"{verdict.replace('_', '_' + ZERO_WIDTH_SPACE)} — setPhone contract on {target}, run of",
            "buildName": judged,  # short: the Executors widget breaks a long one mid-word
        }

    def environment(self) -> str:
        """environment.properties (Allure's Environment widget): the verdict first, then the run's header and
        the coverage."""
        pairs = []
        verdict = verdict_line(self.verdict, self.coverage, self.secrets)
        if verdict:
            pairs.append(["contract verdict", verdict])
        if self.verdict.ledgers:
            pairs.append(["contract costs", costs_words(self.verdict, self.secrets)])
        refused = codes_words(self.verdict.ledger)
        if refused:
            pairs.append(["contract SMS codes", refused])
        pairs += [line.split(": ", 1) for line in header(self.settings)]
        pairs.append(["contract coverage", coverage_table.judged_line(self.coverage)])
        pairs += [
            [f"code {row['code']} {row['name']}", " ".join(filter(None, (row["status"], row["detail"])))]
            for row in self.coverage.rows()
        ]
        pairs += [[f"rule {row['name']}", f"{row['status']}: {row['detail']}"] for row in self.coverage.rule_rows()]
        return "".join(f"{_property(key, True)}={_property(self.secrets.mask(value), False)}\n" for key, value in pairs)


def _property(text: str, key: bool) -> str:
    """text escaped for a Java .properties file (read as ISO-8859-1: anything else as \\uXXXX)."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif key and char in " :=#!":
            out.append("\\" + char)
        elif ord(char) > 126:
            out.extend(f"\\u{unit:04x}" for unit in _utf16_units(char))
        else:
            out.append(char)
    return "".join(out)


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _allure_masking(secrets: Secrets, report: AllureReport):
    """An allure-commons plugin that masks the run's secrets in each result and container before it is written
    (allure_commons is imported here: it is there only with the `reports` extra). A failed case's result gets its
    title as the message (Allure files it under that, within its category) and its failures, the curl command
    folded and the other lines wrapped, as the trace (pytest's own is the same failures on long lines)."""
    import allure_commons
    import attr

    def mask(value):
        if isinstance(value, str):
            return secrets.mask(value)
        if isinstance(value, list):
            value[:] = [mask(v) for v in value]
        elif attr.has(type(value)):
            for name in attr.fields_dict(type(value)):
                setattr(value, name, mask(getattr(value, name)))
        return value

    class AllureMasking:
        @allure_commons.hookimpl(tryfirst=True)
        def report_result(self, result) -> None:
            failed, report.failed_case = report.failed_case, None
            details = result.statusDetails
            if failed is not None and result.status == "failed" and details is not None and failed[0] == result.name:
                title, folded = failed
                details.message, details.trace = title, folded  # pytest's trace is the same failures, unfolded
            mask(result)

        @allure_commons.hookimpl(tryfirst=True)
        def report_container(self, container) -> None:
            # pytest's own finalizers of a fixture (allure-pytest names them "fixture::<lambda>"): nothing to read
            container.afters[:] = [
                after
                for after in container.afters
                if not (after.name or "").endswith(ANONYMOUS_FINALIZER) or after.steps or after.attachments
            ]
            mask(container)

    return AllureMasking()
