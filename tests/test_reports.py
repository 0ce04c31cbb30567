"""pytest-html and Allure reports of a suite run, read from the files they wrote: against the correct reference
server and against one that answers a wrong code and hangs on one case. The coverage table (in the terminal's
words), the run's header, a failure's expected/actual codes and reproduction line, the labels and categories;
no token and no SMS code in any report file; the self-contained HTML loads nothing from the network."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from contract_suite.engine.coverage import STATE_RULES
from contract_suite.openapi import spec
from reference_server import create_app, start_embedded
from reference_server.app import CHANGE_FAILED, OLD_CODE_FAILED, SetPhoneService
from tests.support.leaks import issued_codes, leaks_in, profile_tokens, read_files, with_data_urls
from tests.support.suite import HAND_WRITTEN, PROFILE, Finished, run_pytest, target_args

EXTRAS = "the reports extra is not installed (pip install -e '.[reports]')"
pytest.importorskip("pytest_html", reason=f"pytest-html: {EXTRAS}")
pytest.importorskip("allure_pytest", reason=f"allure-pytest: {EXTRAS}")

pytestmark = pytest.mark.selftest

_EXERCISABLE = sum(entry.exercisable for entry in spec.load(spec.DEFAULT_SPEC).codes.values())
ALL_JUDGED = f"judged {_EXERCISABLE} of {_EXERCISABLE} exercisable documented codes"  # from the spec, never typed

CANCELLING_PHONE = "13800000004"  # profiles/reference.toml's [phones] cancelling
OPERATION = "PUT /v2/enduser/enduserapi/setPhone"
# the broken run's one failed case, as the verdict line names it: its code (from the spec) and its test
WRONG_NEW_CODE = spec.load(spec.DEFAULT_SPEC).code_named("new-phone-verification-failed")
BROKE = f"{WRONG_NEW_CODE} new phone verification failed (test_wrong_new_phone_code)"


class NewCodeAnsweredAsOldCode(SetPhoneService):
    """Answer a wrong new-phone code with 5168 (the original phone's code failed) instead of 5169."""

    def verify_new_code(self, call):
        return None if super().verify_new_code(call) is None else OLD_CODE_FAILED


class EveryCodeOff(SetPhoneService):
    """Answer 5170 (modification failed) to every request that reaches the business checks or misses a parameter."""

    def missing_parameter(self, params):
        return CHANGE_FAILED if super().missing_parameter(params) is not None else None

    def run_checks(self, call):
        return CHANGE_FAILED


class CancellingPhoneHangs(SetPhoneService):
    """Take 3 s over a request whose new phone is the cancelling one: past --request-timeout 1 (cannot judge)."""

    def dispatch(self, request):
        if request.args.get("newPhone") == CANCELLING_PHONE:
            time.sleep(3)
        return super().dispatch(request)


@dataclass(frozen=True)
class Reports:
    run: Finished
    html: Path
    allure: Path
    secrets: list[str]


def produce(folder: Path, defects: list, selection: tuple[str, ...]) -> Reports:
    database = folder / "reference.sqlite3"
    html_path, allure_dir = folder / "html" / "report.html", folder / "allure"
    with start_embedded(create_app({"DATABASE": str(database), "DEFECTS": defects})) as server:
        run = run_pytest(
            *selection,
            *target_args(server.base_url, str(PROFILE)),
            "--request-timeout",
            "1",
            "--rate-limit",
            "0",
            "--allow-destructive",
            "--html",
            str(html_path),
            "--self-contained-html",
            "--alluredir",
            str(allure_dir),
            env={"REFERENCE_SERVER_DB": str(database)},
            timeout=240,
        )
    secrets = profile_tokens(PROFILE) + issued_codes(database)
    return Reports(run, html_path, allure_dir, secrets)


@pytest.fixture(scope="module")
def correct(tmp_path_factory) -> Reports:
    """The whole contract suite (the generated layer too) against the correct reference server."""
    made = produce(tmp_path_factory.mktemp("correct"), [], ("contract_tests",))
    assert made.run.returncode == 0, made.run.tail()
    return made


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Reports:
    # without the rules of state: the wrong new-phone code's defect breaks one of them too, and the cancelling
    # digits hang another; this run's point is one failure and one case that cannot be judged
    selection = (*HAND_WRITTEN, "--ignore", "contract_tests/test_state_rules.py")
    made = produce(tmp_path_factory.mktemp("broken"), [NewCodeAnsweredAsOldCode, CancellingPhoneHangs], selection)
    assert made.run.returncode == 1, made.run.tail()
    return made


# -- reading the files -------------------------------------------------------------------------------------


class Page(HTMLParser):
    """The parts of a pytest-html page the tests read: elements by id (their text, table rows), the results'
    JSON blob, and every URL an element loads (src, <link href>, CSS url() and @import)."""

    LOADS = {"img", "script", "link", "iframe", "video", "audio", "source", "embed", "object", "track", "input"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, list[str]] = {}
        self.rows: dict[str, list[list[str]]] = {}
        self.loaded: list[str] = []
        self.blob: dict = {}
        self.source = text
        self._open: list[tuple[str, str | None]] = []  # (tag, id)
        self._cell: list[str] | None = None
        self._in_style = False
        self.feed(text)
        self.close()

    def _ids(self) -> list[str]:
        return [i for _, i in self._open if i]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.LOADS:
            self.loaded += [attrs[a] for a in ("src", "href", "data", "poster", "srcset") if attrs.get(a)]
        if attrs.get("style"):
            self.loaded += css_urls(attrs["style"])
        if attrs.get("data-jsonblob"):
            self.blob = json.loads(attrs["data-jsonblob"])
        self._in_style = tag == "style"
        if tag in ("br", "meta", "input", "img", "link"):
            return
        self._open.append((tag, attrs.get("id")))
        if tag == "tr":
            for i in self._ids():
                self.rows.setdefault(i, []).append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            for i in self._ids():
                if self.rows.get(i):
                    self.rows[i][-1].append("".join(self._cell).strip())
            self._cell = None
        while self._open:
            if self._open.pop()[0] == tag:
                break
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.loaded += css_urls(data)
        if self._cell is not None:
            self._cell.append(data)
        for i in self._ids():
            self.texts.setdefault(i, []).append(data)

    def text(self, element_id: str) -> str:
        return "".join(self.texts.get(element_id, [])).strip()


def css_urls(css: str) -> list[str]:
    found = re.findall(r"url\(\s*['\"]?([^'\")\s]+)", css)
    return found + re.findall(r"@import\s+['\"]([^'\"]+)", css)


def html_tests(page: Page) -> dict[str, list[dict]]:
    return page.blob["tests"]


def case_parts(entry: dict) -> Page:
    """The contract suite's HTML block of one result (its html extra), parsed."""
    blocks = [x["content"] for x in entry["extras"] if x["format_type"] == "html" and "contract-case" in x["content"]]
    assert len(blocks) == 1, entry["extras"]
    return Page(f'<div id="case">{blocks[0]}</div>')


def failure_rows(part: Page) -> dict[str, str]:
    """The rows of a case block's failure table, by their heading."""
    table = re.search(r'<table class="contract-failure">(.*?)</table>', part.source, re.S)
    assert table, part.source
    rows = re.findall(r"<th>(.*?)</th><td><code>(.*?)</code></td>", table.group(1), re.S)
    return {name or "note": html.unescape(value) for name, value in rows}


def terminal_section(stdout: str) -> list[str]:
    """The lines the terminal printed under "documented-code coverage": the table, then the `judged` line."""
    after = stdout.split("= documented-code coverage =", 1)[1].splitlines()[1:]
    lines = [line for line in after if line.strip()]
    end = next(i for i, line in enumerate(lines) if line.startswith("judged "))
    return lines[: end + 1]


def terminal_coverage(stdout: str) -> list[list[str]]:
    """The coverage table the terminal printed: [code, name, status, answers, detail] per documented code."""
    lines = terminal_section(stdout)
    assert lines[0].split() == ["code", "name", "status", "answers", "detail"], lines
    return [
        [line[:5].strip(), line[7:39].strip(), line[40:60].strip(), line[61:68].strip(), line[70:].strip()]
        for line in lines[1:-1]
    ]


def terminal_rules(stdout: str) -> list[list[str]]:
    """The rules of state the terminal printed after the judged line: [name, status, detail] per rule."""
    after = stdout.split("= documented-code coverage =", 1)[1].split("\n= ", 1)[0].splitlines()
    start = next(i for i, line in enumerate(after) if line.startswith("rule of state "))
    rows = [line for line in after[start + 1 :] if line.strip()][: len(STATE_RULES)]
    return [[part.strip() for part in re.split(r"\s{2,}", row, maxsplit=2)] for row in rows]


def terminal_header(stdout: str) -> list[str]:
    return [
        line
        for line in stdout.splitlines()
        if re.match(r"contract (target|politeness|profile|spec|request timeout): ", line)
    ]


def allure_results(folder: Path) -> list[dict]:
    results = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*-result.json")]
    assert results, list(folder.iterdir())
    return results


def labels(result: dict, name: str) -> list[str]:
    return [label["value"] for label in result.get("labels", []) if label["name"] == name]


def the_result(results: list[dict], title: str) -> dict:
    found = [r for r in results if r["name"] == title]
    assert len(found) == 1, sorted(r["name"] for r in results)
    return found[0]


def attachment(folder: Path, result: dict, name: str) -> str:
    found = [a for a in result.get("attachments", []) if a["name"] == name]
    assert len(found) == 1, result.get("attachments")
    return (folder / found[0]["source"]).read_text(encoding="utf-8")


def global_attachments(folder: Path) -> dict[str, Path]:
    """The files attached to the run as a whole (allure's *-globals.json), by name."""
    found = {}
    for path in folder.glob("*-globals.json"):
        for item in json.loads(path.read_text(encoding="utf-8")).get("attachments", []):
            found[item["name"]] = folder / item["source"]
    return found


def java_matches(regex: str | None, text: str) -> bool:
    """Whether an Allure category's regex matches the whole text, as Java's Matcher.matches() does."""
    return regex is None or re.fullmatch(regex, text) is not None


def category_of(categories: list[dict], result: dict) -> list[str]:
    """The categories a result matches, as Allure matches them: its status, and each regex given (message, trace)."""
    details = result.get("statusDetails") or {}
    message, trace = details.get("message", ""), details.get("trace", "")
    return [
        c["name"]
        for c in categories
        if result["status"] in c["matchedStatuses"]
        and java_matches(c.get("messageRegex"), message)
        and java_matches(c.get("traceRegex"), trace)
    ]


# -- pytest-html --------------------------------------------------------------------------------------------


def test_html_opens_with_the_verdict_then_the_terminals_coverage_table(correct):
    text = correct.html.read_text(encoding="utf-8")
    page = Page(text)
    title = page.text("head-title")
    assert title.startswith("setPhone contract suite: HOLDS on http://127.0.0.1:"), title
    assert page.text("title") == title
    # the run's header replaces pytest-html's generic Environment rows
    environment = page.blob["environment"]
    assert [f"contract {key.lower()}: {value}" for key, value in environment.items()] == [
        line[0].lower() + line[1:] for line in terminal_header(correct.run.stdout)
    ], environment
    assert environment["Target"].startswith("http://127.0.0.1:") and "Python" not in environment
    # the summary opens with the verdict, coloured, then the judged line and the coverage table
    summary = text.split('class="additional-summary prefix"', 1)[1]
    order = [summary.index(f'id="{i}"') for i in ("contract-verdict", "contract-judged", "contract-coverage")]
    assert order == sorted(order), order
    assert 'id="contract-verdict" class="contract-verdict-holds"' in summary
    assert page.text("contract-verdict").startswith(f"HOLDS (exit 0) on what was judged: {ALL_JUDGED}")
    assert page.text("contract-judged") == ALL_JUDGED
    rows = page.rows["contract-coverage"]
    assert rows[0] == ["code", "name", "status", "answers", "detail"]
    assert rows[1:] == terminal_coverage(correct.run.stdout)
    statuses = {code: status for code, _, status, _, _ in rows[1:]}
    assert statuses.pop("5170") == "not exercisable"
    assert len(statuses) == _EXERCISABLE and set(statuses.values()) == {"seen"}, statuses
    # after it, the rules of state: each with its sentence, judged, as the terminal says
    rules = page.rows["contract-rules"]
    assert rules[0] == ["rule of state", "rule", "status", "detail"]
    assert [[name, status, detail] for name, _, status, detail in rules[1:]] == terminal_rules(correct.run.stdout)
    assert {name: status for name, _, status, _ in rules[1:]} == dict.fromkeys(STATE_RULES, "judged")
    assert all(sentence == STATE_RULES[name] for name, sentence, _, _ in rules[1:])
    # long lines wrap: the page fits the window
    assert "white-space: pre-wrap" in summary and "#contract-coverage th, #contract-coverage td" in summary


def test_html_shows_each_failures_rule_codes_and_masked_reproduction(broken):
    page = Page(broken.html.read_text(encoding="utf-8"))
    rows = {row[0]: row for row in page.rows["contract-coverage"][1:]}
    assert rows["5169"][2] == "exercised, not seen"
    assert page.text("contract-verdict") == f"BROKEN (exit 1): {BROKE}"
    costs = page.text("contract-costs")
    assert costs.startswith("the run sent ") and " SMS code(s) (" in costs and "), fetched 0 token(s)" in costs
    assert " to 86-13800000001" in costs and "of a budget of 60 (--max-sms-codes)" in costs  # each number, the budget
    assert page.text("head-title").startswith("setPhone contract suite: BROKEN on http://127.0.0.1:")
    assert 'class="contract-verdict-broken"' in page.source
    tests = html_tests(page)
    [failed] = tests["contract_tests/test_business_rules.py::test_wrong_new_phone_code"]
    assert "Failed" in failed["resultsTableRow"][0]
    part = case_parts(failed)
    assert part.text("case").startswith("wrong SMS code for the new phone")
    failure = failure_rows(part)
    assert failure["rule"] == "wrong SMS code for the new phone"
    assert failure["expected"] == '5169 "New phone number verification failed"'
    assert failure["actual"].startswith('5168 "Original phone number verification failed", server msg ')
    assert failure["reproduce"].startswith('curl -sS -X PUT "http://127.0.0.1:')
    assert "oldPhoneCode=${OLD_PHONE_CODE:?SMS code for 86-13800000001" in failure["reproduce"]
    assert "Authorization: ${CONTRACT_TOKEN:?" in failure["reproduce"]
    assert failure["note"].startswith("(masked: set OLD_PHONE_CODE, CONTRACT_TOKEN in your shell first")
    assert "Authorization: <valid-token>" in part.text("case") and "HTTP 200 OK" in part.text("case")
    [error] = tests["contract_tests/test_business_rules.py::test_new_phone_in_cancellation"]
    assert "Error" in error["resultsTableRow"][0]
    assert "cannot judge: not a contract failure" in case_parts(error).text("case")
    assert "cannot judge this case: timed out after 1 s" in error["log"]


@pytest.mark.parametrize("which", ["correct", "broken"])
def test_self_contained_html_loads_nothing_from_the_network(which, request):
    made: Reports = request.getfixturevalue(which)
    page = Page(made.html.read_text(encoding="utf-8"))
    assert "contract-coverage" in page.rows and page.blob["tests"]
    loaded = list(page.loaded)
    for entries in html_tests(page).values():
        for entry in entries:
            for extra in entry["extras"]:
                if extra["format_type"] == "html":
                    loaded += Page(extra["content"]).loaded
                else:
                    loaded.append(extra["content"])
    remote = [url for url in loaded if re.match(r"\s*(https?:)?//", url, re.I)]
    assert remote == [], remote
    assert not (made.html.parent / "assets").exists(), "a self-contained report writes no asset folder"


# -- Allure -------------------------------------------------------------------------------------------------


def test_allure_cases_are_titled_by_rule_and_labelled_by_operation_and_code(correct):
    results = allure_results(correct.allure)
    absent = the_result(results, "required parameter newPhone absent")
    assert labels(absent, "feature") == [OPERATION] and labels(absent, "operation") == [OPERATION]
    assert labels(absent, "story") == ["5166 missing-new-phone"] and labels(absent, "business-code") == ["5166"]
    several = the_result(results, "required parameters oldPhone, newPhone absent: one of their missing-codes")
    assert labels(several, "business-code") == ["5163", "5166"]
    exchange = attachment(correct.allure, absent, "1. PUT 86-13800000001 to (no new phone), answered 5166")
    assert exchange.startswith("PUT http://127.0.0.1:") and "Authorization: <valid-token>" in exchange
    assert '"code": 5166' in exchange
    coverage = json.loads(global_attachments(correct.allure)["documented-code coverage (JSON)"].read_text())
    exercisable = {str(row["code"]) for row in coverage["codes"] if row["status"] != "not exercisable"}
    assert exercisable, "the coverage JSON lists no exercisable code"
    assert {code for r in results for code in labels(r, "business-code")} == exercisable
    assert all(r["status"] == "passed" for r in results if labels(r, "business-code"))


def test_allure_run_carries_the_coverage_table_header_and_categories(correct):
    attached = global_attachments(correct.allure)
    table = attached["documented-code coverage"].read_text(encoding="utf-8")
    assert table.splitlines() == terminal_section(correct.run.stdout)
    assert table.splitlines()[-1] == ALL_JUDGED
    coverage = json.loads(attached["documented-code coverage (JSON)"].read_text(encoding="utf-8"))
    assert {row["code"]: row["status"] for row in coverage["codes"]}[5170] == "not exercisable"
    environment = (correct.allure / "environment.properties").read_text(encoding="ascii")
    properties = dict(line.split("=", 1) for line in environment.splitlines())
    politeness = "no rate limit, at most 1000 requests, request lines within 8192 bytes"
    assert properties[r"contract\ politeness"] == politeness
    assert properties[r"contract\ verdict"].startswith("HOLDS (exit 0)")
    costs = properties[r"contract\ costs"]
    assert costs.startswith("the run sent ") and "), fetched 0 token(s), and took " in costs
    assert properties[r"code\ 5169\ new-phone-verification-failed"] == "seen"
    assert properties[r"rule\ one-change-per-pair-of-codes"] == "judged: holds"
    rules = attached["rules of state"].read_text(encoding="utf-8").splitlines()
    assert [row.split()[:2] for row in rules[1:]] == [[name, "judged"] for name in STATE_RULES]
    assert {row["name"]: row["status"] for row in coverage["rules"]} == dict.fromkeys(STATE_RULES, "judged")
    names = [c["name"] for c in json.loads((correct.allure / "categories.json").read_text(encoding="utf-8"))]
    # Allure files a result under the first category that matches: each code's, then the catch-all
    assert names[-2:] == ["contract broken", "cannot judge"]
    assert names[0] == "contract broken: expected 200"
    assert "contract broken: expected 5169" in names
    # the run's identity: the verdict as the report's name
    executor = json.loads((correct.allure / "executor.json").read_text(encoding="utf-8"))
    assert executor["reportName"].startswith(f"HOLDS (exit 0) on what was judged: {ALL_JUDGED}")
    assert " — setPhone contract on http://127.0.0.1:" in executor["reportName"]
    assert executor["reportName"].endswith(", run of")
    assert executor["buildName"] == f"judged {_EXERCISABLE} of {_EXERCISABLE} codes"
    assert next(iter(properties)) == r"contract\ verdict"  # first in the Environment widget
    # no anonymous rows: pytest's own fixture finalizers are left out
    containers = [json.loads(p.read_text(encoding="utf-8")) for p in correct.allure.glob("*-container.json")]
    assert containers and not [a["name"] for c in containers for a in c.get("afters", []) if "<lambda>" in a["name"]]


def test_allure_separates_contract_broken_from_cannot_judge(broken):
    results = allure_results(broken.allure)
    categories = json.loads((broken.allure / "categories.json").read_text(encoding="utf-8"))
    failed = the_result(results, "wrong SMS code for the new phone")
    assert failed["status"] == "failed"
    assert labels(failed, "story") == ["5169 new-phone-verification-failed"]
    # the message is the case's title (Allure's second level within a category); the failure is the trace, its curl
    # command folded over lines that fit the panel (bash reads them as one command)
    assert failed["statusDetails"]["message"] == failed["name"] == "wrong SMS code for the new phone"
    trace = failed["statusDetails"]["trace"]
    assert '\n  expected: 5169 "New phone number verification failed"\n' in trace
    assert '\n  actual:   5168 "Original phone number verification failed"' in trace
    assert "\n  reproduce:\ncurl -sS -X PUT \\\n" in trace and "${CONTRACT_TOKEN:?" in trace
    folded = trace.split("  reproduce:\n", 1)[1].split("\n  (masked")[0].splitlines()
    assert len(folded) > 3 and max(map(len, folded)) <= 70, folded  # the panel shows about 66 at 1280 px
    assert category_of(categories, failed)[0] == "contract broken: expected 5169"
    evidence = attachment(broken.allure, failed, "failure: wrong SMS code for the new phone")
    assert "expected: 5169" in evidence and "actual:   5168" in evidence and "reproduce:\ncurl" in evidence
    hung = the_result(results, "new phone in cancellation")
    assert hung["status"] == "broken" and "cannot judge this case" in hung["statusDetails"]["message"]
    assert labels(hung, "business-code") == ["5175"]
    assert category_of(categories, hung) == ["cannot judge"]
    not_passed = sorted(r["name"] for r in results if r["status"] not in ("passed", "skipped"))
    assert not_passed == sorted([failed["name"], hung["name"]])


def test_allure_files_each_failed_case_under_its_own_code(tmp_path):
    """Allure's first-match rule applied to the categories written and the results of a run where several
    cases fail, each expecting another code: each failed case lands in its own code's category."""
    made = produce(tmp_path, [EveryCodeOff], HAND_WRITTEN + ("-k", "test_absent or test_wrong_new_phone_code"))
    assert made.run.returncode == 1, made.run.tail()
    results = allure_results(made.allure)
    categories = json.loads((made.allure / "categories.json").read_text(encoding="utf-8"))
    filed: dict[str, list[str]] = {}
    for result in results:
        matched = category_of(categories, result)
        if result["status"] in ("failed", "broken"):
            assert matched, result["name"]
            filed.setdefault(matched[0], []).append(result["name"])
    assert filed, "no case failed: the test proves nothing"
    expected = {labels(r, "business-code")[0] for r in results if r["status"] == "failed"}
    assert len(expected) >= 5, expected
    for code in expected:
        name = next(c["name"] for c in categories if c["name"] == f"contract broken: expected {code}")
        assert name in filed, (code, filed)
    assert "contract broken" not in filed, filed["contract broken"]


# -- secrets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["correct", "broken"])
def test_no_secret_in_any_report_file(which, request):
    made: Reports = request.getfixturevalue(which)
    assert len(made.secrets) > len(profile_tokens(PROFILE)), "the run issued no SMS code: nothing to look for"
    files = [p for folder in (made.html.parent, made.allure) for p in folder.rglob("*") if p.is_file()]
    assert len(files) > 10, files
    produced = with_data_urls(read_files(files))
    produced["stdout"] = made.run.stdout
    assert leaks_in(produced, made.secrets) == {}
    assert any("<valid-token>" in text for text in produced.values())  # the reports did hold secrets, masked


def test_allure_results_are_masked_as_written():
    """Allure takes a failure's message from the exception itself, not from the masked report: the results are
    masked again as allure-pytest writes them."""
    from allure_commons.model2 import Attachment, Label, StatusDetails, TestResult

    from contract_suite.reporting import allure_report
    from contract_suite.secrets import Secrets

    secrets = Secrets()
    secrets.add("Bearer tok-123456789", "valid-token")
    secrets.add("482913", "sms-code")
    result = TestResult(
        name="case 482913",
        statusDetails=StatusDetails(
            message="curl -H 'Authorization: Bearer tok-123456789' ?oldPhoneCode=482913", trace="tok-123456789"
        ),
    )
    result.labels.append(Label(name="story", value="5168 for 482913"))
    result.attachments.append(Attachment(name="sent 482913", source="a.txt", type="text/plain"))
    allure_report._allure_masking(secrets, SimpleNamespace(failed_case=None)).report_result(result)
    assert result.name == "case <sms-code>"
    assert result.statusDetails.message == "curl -H 'Authorization: <valid-token>' ?oldPhoneCode=<sms-code>"
    assert result.statusDetails.trace == "<valid-token>"
    assert result.labels[0].value == "5168 for <sms-code>" and result.attachments[0].name == "sent <sms-code>"
    assert result.attachments[0].source == "a.txt"


def allure_command() -> str | None:
    """The Allure command-line tool: on PATH, or where .ci/run installs it (npm's allure-commandline, in .tools/)."""
    local = spec.PROJECT_ROOT / ".tools" / "node_modules" / ".bin" / "allure"
    return shutil.which("allure") or (str(local) if local.is_file() else None)


@pytest.mark.skipif(
    allure_command() is None or shutil.which("java") is None,
    reason="the Allure command-line tool (npm's allure-commandline, and Java) is not installed: "
    "npm install --prefix .tools allure-commandline",
)
def test_allure_site_shows_the_verdict_and_files_each_case_under_its_code(broken, tmp_path):
    """The site Allure generates from the results, read as its pages read it: the report's name is the verdict, the
    failed case is in its code's category, the case that could not be judged under "cannot judge"."""
    site = tmp_path / "site"
    done = subprocess.run(
        [allure_command(), "generate", str(broken.allure), "-o", str(site), "--clean"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((site / "widgets" / "summary.json").read_text(encoding="utf-8"))
    name = summary["reportName"].replace("\u200b", "")
    assert name.startswith(f"BROKEN (exit 1): {BROKE} — "), name
    assert " — setPhone contract on http://127.0.0.1:" in name and name.endswith(", run of"), name
    assert summary["statistic"]["failed"] == 1 and summary["statistic"]["broken"] == 1, summary
    filed = {
        item["name"]: item["statistic"]["total"]
        for item in json.loads((site / "widgets" / "categories.json").read_text(encoding="utf-8"))["items"]
    }
    assert filed == {"contract broken: expected 5169": 1, "cannot judge": 1}, filed
    executors = json.loads((site / "widgets" / "executors.json").read_text(encoding="utf-8"))
    assert [e["name"] for e in executors] == ["setPhone contract suite"], executors
    assert executors[0]["buildName"].startswith("judged "), executors  # the judged line, as the build
