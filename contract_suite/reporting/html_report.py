"""The contract run in pytest-html's report (--html): the page's title names the suite, the target and the
verdict; its Environment table is the run's header; its summary opens with the verdict (coloured), the judged
line and the documented-code coverage table; each case carries its rule, codes, failures (rule, expected,
actual, reproduce) and its requests with their answers. Long lines wrap. Everything written is masked."""

from __future__ import annotations

import html

import pytest

from contract_suite.engine.coverage import Coverage
from contract_suite.engine.evidence import CaseEvidence
from contract_suite.engine.reproduce import exchange_text
from contract_suite.engine.settings import Settings
from contract_suite.pytest.keys import CANNOT_JUDGE, EVIDENCE, RULE
from contract_suite.reporting import coverage_table
from contract_suite.reporting.case_view import code_words, exchange_title, is_case_outcome, operation_of, title_of
from contract_suite.reporting.summary import (
    Verdict,
    codes_words,
    costs_words,
    failed_cases,
    header,
    verdict_line,
    verdict_word,
)
from contract_suite.secrets import Secrets

# pytest-html draws its log and our extras as preformatted text: a curl line made the page thousands of pixels
# wide. Wrap them; give the coverage table room; colour the verdict.
STYLE = """
.extra .log, .extraHTML pre, .extraHTML code { white-space: pre-wrap; overflow-wrap: anywhere; }
#results-table td { overflow-wrap: anywhere; }
#contract-coverage, #contract-rules { border-collapse: collapse; margin: 0.5em 0 1em; }
#contract-coverage th, #contract-coverage td, #contract-rules th, #contract-rules td {
  border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
#contract-coverage td:nth-child(4) { text-align: right; }
#contract-verdict { font-size: 1.2em; font-weight: bold; padding: 0.6em 0.8em; border-radius: 4px; }
.contract-verdict-holds { background: #e3f4e3; color: #1a6e1a; border: 1px solid #1a6e1a; }
.contract-verdict-broken { background: #fbe4e4; color: #a11; border: 1px solid #a11; }
.contract-verdict-cannot-judge { background: #fff4d6; color: #8a5a00; border: 1px solid #8a5a00; }
.contract-verdict-input-wrong { background: #ece6f6; color: #4b2a85; border: 1px solid #4b2a85; }
table.contract-failure th { text-align: left; vertical-align: top; padding-right: 1em; white-space: nowrap; }
table.contract-failure td code { color: #111; font-size: 1em; }
table.contract-failure tr.contract-actual td code { color: #a11; font-weight: bold; }
table.contract-failure tr.contract-expected td code { color: #1a4d1a; font-weight: bold; }
#contract-failed-cases { margin: 0.4em 0 1em; color: #a11; font-weight: bold; }
#contract-coverage tr.contract-failed-code td { background: #fbe4e4; color: #a11; font-weight: bold; }
"""


def register(config: pytest.Config, settings: Settings, secrets: Secrets, coverage: Coverage, verdict: Verdict):
    """Add the contract's parts to pytest-html's report when it is loaded and asked for (--html)."""
    if config.pluginmanager.hasplugin("html") and config.getoption("htmlpath", None):
        config.pluginmanager.register(HtmlReport(settings, secrets, coverage, verdict), "contract-html-report")


class HtmlReport:
    def __init__(self, settings: Settings, secrets: Secrets, coverage: Coverage, verdict: Verdict):
        self.settings = settings
        self.secrets = secrets
        self.coverage = coverage
        self.verdict = verdict
        self.report = None  # pytest-html's report object: its title is set once the verdict is known

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report) -> None:
        """At the start of the run: the run's header instead of pytest-html's generic Environment rows."""
        self.report = report
        report.title = self.title()
        report.set_data("environment", dict(self.header_pairs()))

    def header_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for line in header(self.settings):
            key, _, value = line.partition(": ")
            pairs.append((key.removeprefix("contract ").capitalize(), self.secrets.mask(value)))
        return pairs

    def title(self) -> str:
        target = self.settings.base_url or "the embedded reference server"
        word = verdict_word(self.verdict)
        return self.secrets.mask(f"setPhone contract suite: {word + ' on ' if word else ''}{target}")

    @pytest.hookimpl(wrapper=True, tryfirst=True)  # outside the contract plugin's wrapper: its evidence is there
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        made = yield
        evidence = item.stash.get(EVIDENCE, None)
        if evidence is not None and is_case_outcome(made):
            from pytest_html import extras

            made.extras = [*getattr(made, "extras", []), extras.html(self.case_html(item, evidence))]
        return made

    def case_html(self, item: pytest.Item, evidence: CaseEvidence) -> str:
        e, mask = html.escape, self.secrets.mask
        operation = operation_of(self.settings, evidence)
        parts = [f'<div class="contract-case"><p class="contract-title"><b>{e(mask(title_of(item, evidence)))}</b></p>']
        parts.append(f'<p class="contract-operation">operation: {e(operation.label)}</p>')
        if evidence.codes:
            words = ", ".join(code_words(operation, c) for c in evidence.codes)
            parts.append(f'<p class="contract-codes">exercises: {e(words)}</p>')
        if len(evidence.rules) > 1:
            items = "".join(f"<li>{e(mask(rule))}</li>" for rule in evidence.rules)
            parts.append(f'<ul class="contract-rules">{items}</ul>')
        if evidence.cannot_judge:
            parts.append('<p class="contract-cannot-judge">cannot judge: not a contract failure (see the log)</p>')
        for failure in evidence.failures:
            rows = [("rule", failure.rule), ("check", failure.check), ("expected", failure.expected)]
            rows += [("actual", failure.actual)] + [("", more) for more in failure.more]
            rows += [("reproduce", failure.reproduce), ("", failure.masked)]
            cells = "".join(
                f'<tr class="contract-{e(name or "note")}"><th>{e(name)}</th>'
                f"<td><code>{e(mask(value))}</code></td></tr>"
                for name, value in rows
                if value
            )
            parts.append(f'<table class="contract-failure">{cells}</table>')
        for number, answer in enumerate(evidence.exchanges, 1):
            title = e(mask(exchange_title(number, answer)))
            parts.append(
                f'<details class="contract-exchange"><summary>{title}</summary>'
                f"<pre>{e(exchange_text(answer, self.secrets))}</pre></details>"
            )
        return "".join(parts) + "</div>"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_html(self, report, data: list) -> None:
        """A case's failure is shown once, in the suite's table above the log: the log's copy of the same words
        gives way to a pointer (a traceback, or anything else the log holds, stays)."""
        properties = dict(report.user_properties)
        text = report.longreprtext or ""
        if report.failed and RULE in properties and CANNOT_JUDGE[0] not in properties and "Traceback" not in text:
            if data and text and data[0].startswith(html.escape(text.splitlines()[0])):
                data[0] = "(the failure is shown above, in the table)\n"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list, session: pytest.Session):
        """At the end of the run (the verdict is known): the verdict first, then what was judged."""
        if self.report is not None:
            self.report.title = self.title()
        prefix[:0] = [f"<style>{STYLE}</style>", self.verdict_html(), self.coverage_html()]

    def verdict_html(self) -> str:
        line = verdict_line(self.verdict, self.coverage, self.secrets)
        if not line:
            return ""
        kind = (verdict_word(self.verdict) or "").lower().replace(" ", "-")
        if kind == "input-wrong":  # nothing was sent: the problems of the suite's own input, one a line
            problems = "".join(f"<li>{html.escape(problem)}</li>" for problem in self.verdict.input_problems)
            verdict = f'<p id="contract-verdict" class="contract-verdict-{kind}">{html.escape(line)}</p>'
            return verdict + (f'<ul id="contract-input-problems">{problems}</ul>' if problems else "")
        refused = codes_words(self.verdict.ledger)
        more = f'<p id="contract-costs">{html.escape(costs_words(self.verdict, self.secrets))}</p>'
        more += f'<p id="contract-sms-codes">{html.escape(self.secrets.mask(refused))}</p>' if refused else ""
        failed = "".join(
            f"<li>{html.escape(self.secrets.mask(words))}</li>" for words in failed_cases(self.verdict, self.coverage)
        )
        listed = f'<ul id="contract-failed-cases">{failed}</ul>' if failed else ""
        verdict = f'<p id="contract-verdict" class="contract-verdict-{html.escape(kind)}">{html.escape(line)}</p>'
        return verdict + listed + more

    def coverage_html(self) -> str:
        e, mask = html.escape, self.secrets.mask
        head = "".join(f"<th>{name}</th>" for name in ("code", "name", "status", "answers", "detail"))
        rows = [(row["code"], row["name"], row["status"], row["seen"], row["detail"]) for row in self.coverage.rows()]
        rows += [
            (code, "(undocumented)", "seen", count, "not in the spec's x-business-codes")
            for code, count in self.coverage.undocumented().items()
        ]
        failed_codes = {c for codes in self.verdict.failed_codes.values() for c in codes[:1]}
        body = "".join(
            f'<tr class="contract-status-{e(status.replace(" ", "-").replace(",", ""))}'
            + (" contract-failed-code" if code in failed_codes else "")
            + '">'
            + "".join(f"<td>{e(mask(str(value)))}</td>" for value in (code, name, status, seen, detail))
            + "</tr>"
            for code, name, status, seen, detail in rows
        )
        notes = "".join(
            f'<p class="contract-note">not applicable: {e(mask(note))}</p>' for note in sorted(self.coverage.notes)
        )
        judged = e(mask(coverage_table.judged_line(self.coverage)))
        return (
            f'<div id="contract-coverage-section"><p id="contract-judged">{judged}</p>'
            f'<table id="contract-coverage"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}'
            f"{self.rules_html()}</div>"
        )

    def rules_html(self) -> str:
        """The rules of state, each with its sentence, status and detail (none: nothing)."""
        e, mask = html.escape, self.secrets.mask
        rows = self.coverage.rule_rows()
        if not rows:
            return ""
        head = "".join(f"<th>{name}</th>" for name in ("rule of state", "rule", "status", "detail"))
        body = "".join(
            f'<tr class="contract-status-{e(row["status"].replace(" ", "-"))}">'
            + "".join(f"<td>{e(mask(row[key]))}</td>" for key in ("name", "rule", "status", "detail"))
            + "</tr>"
            for row in rows
        )
        return f'<table id="contract-rules"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
