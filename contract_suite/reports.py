"""The run in the reports QA teams read: pytest-html (--html) and Allure (allure-pytest, --alluredir).

Both plugins are optional (`pip install -e '.[reports]'`); plugin.py calls register(), which adds a reporter
only for a plugin that is loaded and asked for with its own option. Everything written is masked with the run's
secrets. What each report gets:

- pytest-html: the run's header and the documented-code coverage table (the terminal's words) in the summary;
  per case its rule(s), the codes it exercises, each failure's rule, expected, actual and reproduction line, and
  its requests with their answers.
- Allure: each case titled by its rule, labelled by operation (feature) and business code (story, and a
  `business-code` label), its requests and answers attached; the run's header and coverage in
  environment.properties, the coverage table attached to the run, and categories.json separating
  "contract broken" (failed) from "cannot judge" (broken).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from contract_suite import plugin
from contract_suite.coverage import Coverage
from contract_suite.secrets import Secrets
from contract_suite.settings import Settings
from contract_suite.summary import Verdict, header, verdict_line


def register(config: pytest.Config, settings: Settings, secrets: Secrets, coverage: Coverage, verdict: Verdict) -> None:
    """Add the reporters whose plugin is loaded and whose report is asked for (--html, --alluredir)."""
    manager = config.pluginmanager
    if manager.hasplugin("html") and config.getoption("htmlpath", None):
        manager.register(HtmlReport(settings, secrets, coverage, verdict), "contract-html-report")
    if manager.hasplugin("allure_pytest") and config.getoption("allure_report_dir", None):
        reporter = AllureReport(settings, secrets, coverage, verdict, Path(config.option.allure_report_dir))
        manager.register(reporter, "contract-allure-report")
        reporter.mask_results_as_written(config)


# -- what a case's report says --------------------------------------------------------------------------


@dataclass
class Failure:
    """One failure of a case, read from its message: the rule, then indented `expected:`, `actual:`,
    `reproduce:` lines, the `(masked: ...)` note, and any other indented lines."""

    FIELDS: ClassVar[tuple[str, ...]] = ("expected", "actual", "reproduce")

    rule: str
    expected: str = ""
    actual: str = ""
    reproduce: str = ""
    masked: str = ""
    more: list[str] = field(default_factory=list)


def failures_in(text: str) -> list[Failure]:
    """The failures a contract case's message holds (none for other messages)."""
    found: list[Failure] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith("  "):
            found.append(Failure(line.strip()))
            continue
        if not found:
            continue
        body = line.strip()
        name, _, value = body.partition(":")
        if name in Failure.FIELDS:
            setattr(found[-1], name, value.strip())
        elif body.startswith("(masked:"):
            found[-1].masked = body
        else:
            found[-1].more.append(body)
    return [f for f in found if f.expected or f.actual or f.reproduce]


@dataclass(frozen=True)
class Case:
    """What one case's final report carries for the reports, every string masked."""

    title: str
    codes: tuple[int, ...]
    rules: tuple[str, ...]
    exchanges: tuple[str, ...]
    cannot_judge: bool
    failures: tuple[Failure, ...]


def is_case_outcome(report: pytest.TestReport) -> bool:
    """The report that says how a case went: its call, or its setup when that did not pass (a skip, an error,
    or a case that could not be judged)."""
    return report.when == "call" or (report.when == "setup" and not report.passed)


def case_of(item: pytest.Item, report: pytest.TestReport, settings: Settings, secrets: Secrets) -> Case:
    properties = [(name, value) for name, value in report.user_properties]
    codes_text = next((value for name, value in properties if name == plugin.CODES), None)
    if codes_text is not None:
        codes = tuple(int(code) for code in str(codes_text).split())
    else:  # a case skipped in its setup carries no evidence: its marks say what it exercises
        codes = tuple(sorted(plugin._exercised_by(item, settings.contract)))
    rules = tuple(secrets.mask(str(value)) for name, value in properties if name == plugin.RULE)
    exchanges = tuple(secrets.mask(str(value)) for name, value in properties if name == plugin.EXCHANGE)
    cannot_judge = tuple(plugin.CANNOT_JUDGE) in [tuple(p) for p in properties]
    failures = tuple(failures_in(secrets.mask(report.longreprtext))) if report.failed and not cannot_judge else ()
    return Case(secrets.mask(title_of(item, rules)), codes, rules, exchanges, cannot_judge, failures)


def title_of(item: pytest.Item, rules: tuple[str, ...]) -> str:
    """The case's rule in words: the first rule it judged; else its docstring's first line, else its name."""
    if rules:
        return rules[0]
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
    words = doc.splitlines()[0].rstrip(".") if doc else item.originalname.removeprefix("test_").replace("_", " ")
    callspec = getattr(item, "callspec", None)
    return f"{words} [{callspec.id}]" if callspec is not None else words


def code_words(settings: Settings, code: int) -> str:
    entry = settings.contract.codes.get(code)
    return f"{code} {entry.name}" if entry else str(code)


def operation(settings: Settings) -> str:
    return f"{settings.contract.method} {settings.contract.path}"


# -- pytest-html ------------------------------------------------------------------------------------------


class HtmlReport:
    """Adds to pytest-html's report: the header and coverage table in its summary, each case's evidence."""

    def __init__(self, settings: Settings, secrets: Secrets, coverage: Coverage, verdict: Verdict):
        self.settings = settings
        self.secrets = secrets
        self.coverage = coverage
        self.verdict = verdict

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outside the contract plugin's wrapper: its evidence is there
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        made = yield
        if is_case_outcome(made):
            from pytest_html import extras

            case = case_of(item, made, self.settings, self.secrets)
            made.extras = [*getattr(made, "extras", []), extras.html(self.case_html(case))]
        return made

    def case_html(self, case: Case) -> str:
        e = html.escape
        parts = [f'<div class="contract-case"><p class="contract-title"><b>{e(case.title)}</b></p>']
        if case.codes:
            words = ", ".join(code_words(self.settings, c) for c in case.codes)
            parts.append(f'<p class="contract-codes">exercises: {e(words)}</p>')
        if len(case.rules) > 1:
            parts.append('<ul class="contract-rules">' + "".join(f"<li>{e(r)}</li>" for r in case.rules) + "</ul>")
        if case.cannot_judge:
            parts.append('<p class="contract-cannot-judge">cannot judge: not a contract failure (see the log)</p>')
        for failure in case.failures:
            rows = [("rule", failure.rule), ("expected", failure.expected), ("actual", failure.actual)]
            rows += [("", more) for more in failure.more]
            rows += [("reproduce", failure.reproduce), ("", failure.masked)]
            cells = "".join(
                f'<tr class="contract-{e(name or "note")}"><th>{e(name)}</th><td><code>{e(value)}</code></td></tr>'
                for name, value in rows
                if value
            )
            parts.append(f'<table class="contract-failure">{cells}</table>')
        for number, exchange in enumerate(case.exchanges, 1):
            parts.append(
                f'<details class="contract-exchange"><summary>request and answer {number}</summary>'
                f"<pre>{e(exchange)}</pre></details>"
            )
        return "".join(parts) + "</div>"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list, session: pytest.Session):
        e = html.escape
        lines = "".join(f"<li>{e(self.secrets.mask(line))}</li>" for line in header(self.settings))
        prefix.append(f'<div id="contract-run"><h3>Contract run</h3><ul id="contract-header">{lines}</ul></div>')
        summary.append(self.coverage_html())

    def coverage_html(self) -> str:
        e, mask = html.escape, self.secrets.mask
        head = "".join(f"<th>{name}</th>" for name in ("code", "name", "status", "answers", "detail"))
        rows = [(row["code"], row["name"], row["status"], row["seen"], row["detail"]) for row in self.coverage.rows()]
        rows += [
            (code, "(undocumented)", "seen", count, "not in the spec's x-business-codes")
            for code, count in self.coverage.undocumented().items()
        ]
        body = "".join(
            f'<tr class="contract-status-{e(status.replace(" ", "-").replace(",", ""))}">'
            + "".join(f"<td>{e(mask(str(value)))}</td>" for value in (code, name, status, seen, detail))
            + "</tr>"
            for code, name, status, seen, detail in rows
        )
        notes = "".join(
            f'<p class="contract-note">not applicable: {e(mask(note))}</p>' for note in sorted(self.coverage.notes)
        )
        verdict = verdict_line(self.verdict, self.coverage, self.secrets)
        verdict_html = f'<p id="contract-verdict"><b>{e(verdict)}</b></p>' if verdict else ""
        return (
            f'<div id="contract-coverage-section"><h3>Documented-code coverage</h3>'
            f'<table id="contract-coverage"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            f'{notes}<p id="contract-judged">{e(mask(self.coverage.judged_line()))}</p>{verdict_html}</div>'
        )


# -- Allure -----------------------------------------------------------------------------------------------


def categories(settings: Settings) -> list[dict]:
    """Allure's categories: "contract broken" (a failed case), then one per documented code a failed case
    expected (its message's `expected:` line names the code), and "cannot judge" (a broken case)."""
    by_code = [
        {
            "name": f"contract broken: expected {code_words(settings, code)}",
            "matchedStatuses": ["failed"],
            "messageRegex": rf"(?s).*\n  expected: (?:[^\n]* or )?{code} .*",
        }
        for code in sorted(settings.contract.codes)
    ]
    return [
        {"name": "contract broken", "matchedStatuses": ["failed"]},
        *by_code,
        {"name": "cannot judge", "matchedStatuses": ["broken"], "messageRegex": "(?s).*cannot judge.*"},
    ]


class AllureReport:
    """Titles, labels and attachments for allure-pytest's results; the run's header, coverage and categories
    in the results folder at the end of the run."""

    def __init__(self, settings: Settings, secrets: Secrets, coverage: Coverage, verdict: Verdict, folder: Path):
        self.settings = settings
        self.secrets = secrets
        self.coverage = coverage
        self.verdict = verdict
        self.folder = folder

    def mask_results_as_written(self, config: pytest.Config) -> None:
        """Mask every string of a result or container as allure-pytest writes it (its messages come from the
        exception itself, not from the masked report)."""
        import allure_commons

        allure_commons.plugin_manager.register(_allure_masking(self.secrets), "contract-allure-masking")
        config.add_cleanup(lambda: allure_commons.plugin_manager.unregister(name="contract-allure-masking"))

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outside the contract plugin's wrapper: its evidence is there
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        made = yield
        if is_case_outcome(made):
            self.annotate(case_of(item, made, self.settings, self.secrets))
        return made

    def annotate(self, case: Case) -> None:
        import allure

        allure.dynamic.title(case.title)
        allure.dynamic.feature(operation(self.settings))
        allure.dynamic.label("operation", operation(self.settings))
        for code in case.codes:
            allure.dynamic.story(code_words(self.settings, code))
            allure.dynamic.label("business-code", str(code))
        lines = [f"rule: {rule}" for rule in case.rules]
        if case.codes:
            lines.append("exercises: " + ", ".join(code_words(self.settings, c) for c in case.codes))
        if lines:
            allure.dynamic.description("\n\n".join(lines))
        for failure in case.failures:
            text = "\n".join(
                v
                for v in (
                    failure.rule,
                    *(f"{name}: {getattr(failure, name)}" for name in Failure.FIELDS),
                    *failure.more,
                    failure.masked,
                )
                if v
            )
            allure.attach(text, name=f"failure: {failure.rule}", attachment_type=allure.attachment_type.TEXT)
        for number, exchange in enumerate(case.exchanges, 1):
            allure.attach(exchange, name=f"request and answer {number}", attachment_type=allure.attachment_type.TEXT)

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
        table = "\n".join([*self.coverage.table(), self.coverage.judged_line()])
        allure.global_attach(mask(table), name="documented-code coverage", attachment_type=allure.attachment_type.TEXT)
        allure.global_attach(
            mask(json.dumps(self.coverage.as_json(), indent=2, ensure_ascii=False)),
            name="documented-code coverage (JSON)",
            attachment_type=allure.attachment_type.JSON,
        )

    def environment(self) -> str:
        """environment.properties (Allure's Environment widget): the run's header, verdict and coverage."""
        pairs = [line.split(": ", 1) for line in header(self.settings)]
        verdict = verdict_line(self.verdict, self.coverage, self.secrets)
        if verdict:
            pairs.append(["contract verdict", verdict])
        pairs.append(["contract coverage", self.coverage.judged_line()])
        pairs += [
            [f"code {row['code']} {row['name']}", " ".join(filter(None, (row["status"], row["detail"])))]
            for row in self.coverage.rows()
        ]
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


def _allure_masking(secrets: Secrets):
    """An allure-commons plugin that masks the run's secrets in each result and container before it is written
    (allure_commons is imported here: it is there only with the `reports` extra)."""
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
            mask(result)

        @allure_commons.hookimpl(tryfirst=True)
        def report_container(self, container) -> None:
            mask(container)

    return AllureMasking()
