"""What the run says: its header, the documented-code coverage table, and the verdict with its exit status
(0 the contract holds on what was judged, 1 it is broken, 2 this run cannot judge the target)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from contract_suite.engine.coverage import Coverage
from contract_suite.engine.evidence import ACCOUNT, SOURCE
from contract_suite.engine.ledger import CodeRecord, Ledger, StaticCodeRecord, merged
from contract_suite.engine.refused_codes import source_feeds_another_system
from contract_suite.engine.settings import Settings
from contract_suite.outcomes import EXIT_CANNOT_JUDGE
from contract_suite.reporting import coverage_table
from contract_suite.secrets import Secrets

MIN_ANSWERS_FOR_NO_ENVELOPE = 3


STOPPED_AFTER = "then the run stopped, sending nothing more: "  # before the stop's reason, after what came first


def header(settings: Settings) -> list[str]:
    operation, profile = settings.operation, settings.profile
    if settings.embedded:
        target = "embedded reference server (127.0.0.1, port chosen at start; no --base-url given)"
        destructive = "allowed (embedded target)"
    else:
        target = settings.base_url
        destructive = (
            "allowed (--allow-destructive)" if settings.allow_destructive else "refused (pass --allow-destructive)"
        )
    rate, cap, uri = settings.rate_limit, settings.max_requests, settings.max_uri_bytes
    tls = ""
    if settings.base_url and settings.base_url.startswith("https://"):
        tls = "; TLS OFF (--insecure): certificates are not verified" if settings.insecure else "; TLS verified"
    return [
        f"contract target: {target}{tls}{_proxy_words(settings)}",
        f"contract politeness: {f'at most {rate:g} requests/s' if rate else 'no rate limit'}, "
        f"{f'at most {cap} requests' if cap else 'no request cap'}, "
        f"{f'request lines within {uri} bytes' if uri else 'no request-line budget'}",
        f"contract profile: {profile.source}",
        f"contract spec: {operation.spec_path} ({operation.title}, version {operation.version})",
        f"contract request timeout: {settings.request_timeout:g} s per request; destructive cases: {destructive}",
    ] + _operations_line(settings)


def _proxy_words(settings: Settings) -> str:
    """Through which proxy the target is reached (host and port only: never its user name or password)."""
    if settings.base_url is None:  # the embedded server: never through a proxy
        return ""
    proxy = settings.proxies.for_target(urlsplit(settings.base_url))
    if proxy is None:
        return ""
    return f"; through the proxy {proxy.where} ({proxy.source})"


def _operations_line(settings: Settings) -> list[str]:
    """With several operations: which ones the generic cases judge, the primary first."""
    judged = settings.operations_with_codes
    if len(settings.operations) < 2:
        return []
    names = [f"{c.label} ({c.method} {c.path}{', primary' if c.primary else ''})" for c in judged]
    left = [c.label for c in settings.operations if c not in judged]
    return [
        f"contract operations judged: {'; '.join(names)}"
        + (f"; not judged (no x-business-codes): {', '.join(left)}" if left else "")
    ]


def gateway_words(ledger: Ledger, settings: Settings) -> str | None:
    """What gateways' refusals and limits cost the run, in words (None when there were none)."""
    record, parts = ledger.gateway, []
    if record.refusals:
        statuses = ", ".join(f"HTTP {status} x{count}" for status, count in sorted(record.refusals.items()))
        line = f"a gateway refused {sum(record.refusals.values())} request(s) ({statuses}); the suite waited "
        line += f"{record.waited:g} s in all and sent each again"
        if record.slowed_to and record.slowed_to != settings.rate_limit:
            line += f", slowing to {record.slowed_to:g} requests/s"
            line += "" if ledger.stopped else f" (--rate-limit {record.slowed_to:g} fits)"
        parts.append(line)
    if record.too_large:
        statuses = ", ".join(f"HTTP {status} x{count}" for status, count in sorted(record.too_large.items()))
        parts.append(
            f"a gateway refused {sum(record.too_large.values())} generated request(s) as too large ({statuses}): "
            "not judged (set --max-uri-bytes to its limit)"
        )
    return "; ".join(parts) or None


@dataclass(eq=False)  # registered as a plugin: pluggy needs it hashable (by identity)
class Verdict:
    """Counts the reports (registered as a plugin: every test report passes here), reads the runs' ledgers (one
    per xdist worker, or the run's own), and decides the exit status."""

    cannot_judge_property: tuple[str, str]
    contract_failures: list[str] = field(default_factory=list)
    cannot_judge: list[str] = field(default_factory=list)
    # the suite's own input (the spec, its knife4j page) judged before any request: one line per problem
    input_problems: tuple[str, ...] = ()
    input_failures: list[str] = field(default_factory=list)  # the lint cases that failed: the input's, never BROKEN
    ledgers: list[Ledger] = field(default_factory=list)
    reason: str | None = None  # why the run could not judge, when it could not
    stopped: str | None = None  # why the run stopped sending, when it did (after a contract failure too)
    partial: bool = False  # codes were left unjudged for want of data (accepted with --allow-partial)
    status: int | None = None
    started: float = field(default_factory=time.monotonic)  # when the session was configured
    _merged: Ledger | None = field(default=None, repr=False)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.failed:
            return
        if tuple(self.cannot_judge_property) in [tuple(p) for p in report.user_properties]:
            self.cannot_judge.append(report.nodeid)
        elif "lint" in report.keywords:  # a lint case judges the suite's own input, not the endpoint
            self.input_failures.append(report.nodeid)
        else:
            self.contract_failures.append(report.nodeid)

    def add_ledger(self, ledger: Ledger | None) -> None:
        if ledger is not None:
            self.ledgers.append(ledger)
            self._merged = None

    @property
    def failed_codes(self) -> dict[str, tuple[int, ...]]:
        """Each failed case's documented codes (its `exercises` marks), by node id."""
        return self.ledger.failed_codes if self.ledger is not None else {}

    @property
    def ledger(self) -> Ledger | None:
        """The runs' ledgers merged; None when no run was made."""
        if self._merged is None and self.ledgers:
            self._merged = merged(self.ledgers)
        return self._merged

    def _suspects_reason(self, ledger: Ledger, stopped: str | None) -> str | None:
        """When every contract failure hinges on an SMS code the target refused, and nothing in the run tells
        the codes from the target, or on the test account that someone else changed: why the run cannot judge
        (one line). None: the failures stand."""
        suspects = ledger.suspects
        if not self.contract_failures or any(nodeid not in suspects for nodeid in self.contract_failures):
            return None
        codes = ledger.codes
        voided, unreproduced = codes.voided_between_fetch_and_use, codes.unreproduced
        # someone else moved the account: their fetches may void the codes of this run (two pipelines, one account)
        moved = ledger.account_moved_by_someone_else
        reasons = []
        failed = [suspects[nodeid] for nodeid in self.contract_failures]
        for suspect in sorted(set().union(*failed), key=lambda s: (s.kind, s.number)):
            kind, number = suspect.kind, suspect.number
            if kind == ACCOUNT:
                reasons.append(
                    stopped
                    or "the test account was changed by someone else during the run: a restore found it back on its "
                    "number already; another run or a person is using the account (give each pipeline its own "
                    "account, or run them one after another)"
                )
                continue
            if kind == SOURCE and codes.source_accepted and (voided or unreproduced or moved):
                seen = [
                    *([f"fresher ones then passed ({voided} time(s))"] if voided else []),
                    *(
                        [f"{unreproduced} wrong answer(s) about the account did not come again when sent again"]
                        if unreproduced
                        else []
                    ),
                    *(["the test account moved with no request of this run moving it"] if moved else []),
                ]
                reasons.append(
                    f"someone else uses the test data during the run: SMS codes for {number} fetched a moment "
                    f"before were refused, and {', '.join(seen)}; another run or a person is using the account "
                    "and its numbers (give each pipeline its own, or run them one after another)"
                )
                continue
            if kind == SOURCE:
                if codes.source_accepted:
                    return None  # the target accepted a code from the same source: a fresh one refused is its own
                source = codes.source  # "command" or "function"
                reasons.append(source_feeds_another_system(source, number))
                continue
            record = codes.static.get(number, StaticCodeRecord())
            if record.refused_after_accepted:
                reasons.append(
                    f'[codes] static "{number}" stopped working during the run: the target accepted it, then '
                    "refused it; give the number's current code"
                )
            elif not record.accepted and record.times_refused >= 2:
                reasons.append(
                    f'the target refused [codes] static "{number}" each time it was sent ({record.times_refused} '
                    "requests) and never accepted it: the code is wrong or no longer valid; give the number's "
                    "current code"
                )
            else:
                return None  # refused once, or where the run saw it accepted: the target's
        return "; ".join(dict.fromkeys(reasons)) or None

    def exit_status(self, status: int, settings: Settings, coverage: Coverage) -> int:
        """A contract failure outranks everything but a URL that never served the endpoint: a definite wrong
        answer is BROKEN, whatever happened after it. Then a stop, cases with no whole answer, and codes left
        unjudged for want of data (unless --allow-partial) or at all (with --require-all-codes) are exit 2."""
        ledger = self.ledger or Ledger()
        stopped, answers, envelopes = ledger.stopped, ledger.answers, ledger.envelopes
        url = ledger.base_url or settings.base_url
        if status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED):
            self.status = int(status)
            return status
        if self.input_problems or self.input_failures:  # the user's input is wrong: nothing about the endpoint
            self.status = int(pytest.ExitCode.USAGE_ERROR)
            return self.status
        self.stopped = stopped
        wanting = coverage.unjudged_for_want()
        if self.contract_failures and answers >= MIN_ANSWERS_FOR_NO_ENVELOPE and envelopes == 0:
            self.reason = (
                f"none of the {answers} answers of {url} was a JSON envelope: this URL does not serve the "
                "endpoint (check the base URL's path prefix), or the target is down behind a gateway"
            )
        elif self.contract_failures and (excused := self._suspects_reason(ledger, stopped)):
            # what stopped the run stays on the line (it may be the test account, left to move back by hand)
            self.reason = excused if not stopped or stopped in excused else f"{excused}; {STOPPED_AFTER}{stopped}"
        elif self.contract_failures:
            self.status = int(pytest.ExitCode.TESTS_FAILED)
            return self.status
        elif stopped:
            self.reason = stopped
        elif self.cannot_judge:
            self.reason = (
                f"{len(self.cannot_judge)} case(s) got no whole answer (see their errors); the target "
                "did not answer them in time or dropped the connection"
            )
        elif settings.require_all_codes and coverage.unjudged_anywhere():
            others = [line for line in coverage_table.judged_lines_of_others(coverage) if "; not judged: " in line]
            self.reason = "; ".join([f"--require-all-codes: {coverage_table.judged_line(coverage)}", *others])
        elif wanting and not settings.allow_partial:
            left = sorted({code for codes in wanting.values() for code in codes})
            needs = coverage.needed_for_want()
            judged = f"judged {len(coverage.judged)} of {len(coverage.exercisable)} exercisable documented codes"
            self.reason = (
                f"a partial judgement: {judged}; {', '.join(map(str, left))} not judged for want of data (the "
                "coverage table above says which code needs what)"
                + (f"; to judge them add {', '.join(needs)}" if needs else "")
                + ", or pass --allow-partial to accept a partial judgement"
            )
        self.partial = bool(wanting)
        self.status = EXIT_CANNOT_JUDGE if self.reason else int(status)
        return self.status


def costs(verdict: Verdict) -> dict:
    """What the run cost the target and its platform: requests sent, SMS codes asked for, tokens fetched, seconds."""
    ledger = verdict.ledger or Ledger()
    return {
        "requests": ledger.sent,
        "sms_codes_asked": ledger.codes.asked,
        "tokens_fetched": ledger.tokens_fetched,
        "seconds": round(time.monotonic() - verdict.started, 1),
    }


def costs_words(verdict: Verdict, secrets: Secrets) -> str:
    """The costs on one line: requests sent to the target, SMS codes asked for, tokens fetched, time taken."""
    spent = costs(verdict)
    ledger = verdict.ledger or Ledger()
    if ledger.codes.source == "static":
        codes = "used the profile's [codes] static (no SMS code asked for)"
    else:
        codes = (
            f"asked the [codes] {ledger.codes.source} for {spent['sms_codes_asked']} SMS code(s)"
            f"{sms_detail(ledger.codes)}"
        )
    return (
        f"the run sent {spent['requests']} request(s) to {secrets.mask(ledger.base_url)}, {codes}, fetched "
        f"{spent['tokens_fetched']} token(s), and took {spent['seconds']:g} s"
    )


def sms_detail(codes: CodeRecord) -> str:
    """After the SMS count: how many went to each number, the budget they were spent against, and the waits."""
    parts = []
    if codes.asked_by_number:
        parts.append(", ".join(f"{n} to {number}" for number, n in sorted(codes.asked_by_number.items())))
    if codes.budget is not None:
        budget = f"of a budget of {codes.budget} (--max-sms-codes)"
        if codes.past_budget:
            budget += f", {codes.past_budget} past it to put the test account back"
        if codes.budget_stopped:
            budget += f"; {codes.budget_stopped} case(s) not judged for want of a code"
        parts.append(budget)
    if codes.throttled:
        parts.append(f'the source said "not now" {codes.throttled} time(s)')
    if codes.waited >= 0.05:
        parts.append(f'{codes.waited:.1f} s waited for the code source (its send interval, or "not now")')
    return f" ({'; '.join(parts)})" if parts else ""


def codes_figures(ledger: Ledger) -> dict:
    """The SMS codes the target refused though the run held them valid, and those fetched again (the coverage
    JSON's `sms_codes`)."""
    codes = ledger.codes
    return {
        "refused": codes.refused,
        "refetched": codes.refetched,
        "codes_go_stale": codes.codes_go_stale,
        "asked_by_number": dict(sorted(codes.asked_by_number.items())),
        "budget": codes.budget,
        "past_budget": codes.past_budget,
        "cases_stopped_by_budget": codes.budget_stopped,
        "throttled": codes.throttled,
        "waited_seconds": round(codes.waited, 1),
    }


def codes_words(ledger: Ledger | None) -> str | None:
    """How many held SMS codes the target refused and how many were fetched again, and what that suggests."""
    if ledger is None or not ledger.codes.refused:
        return None
    codes = ledger.codes
    line = f"the target refused {codes.refused} SMS code(s) the run held valid"
    if codes.refetched:
        line += f"; {codes.refetched} fresh code(s) fetched and each request sent once more"
    if codes.codes_go_stale:
        line += (
            "; a fresh code passed where the held one did not: codes on this target expire or are spent by a "
            "failed check, so a fresh one was fetched wherever an answer needed a code to pass"
        )
    return line


def terminal_summary(terminal, settings: Settings, coverage: Coverage, verdict: Verdict, secrets: Secrets) -> None:
    if coverage.anything:
        terminal.section("documented-code coverage")
        for line in coverage_table.table(coverage):
            terminal.write_line(line)
        terminal.write_line(coverage_table.judged_line(coverage))
        for line in coverage_table.rules_table(coverage):  # the rules of state, judged apart from the codes
            terminal.write_line(line)
        for line in coverage_table.other_sections(coverage):  # the other operations' tables, when the spec has several
            terminal.write_line(line)
        if settings.coverage_json:
            try:
                ledger = verdict.ledger
                figures = {"sms_codes": codes_figures(ledger), "costs": costs(verdict)} if ledger else {}
                coverage_table.write_json(coverage, settings.coverage_json, secrets.mask, **figures)
            except OSError as exc:  # writable when the run began (the settings checked); not now
                terminal.write_line(f"coverage JSON NOT written to {settings.coverage_json}: {exc.strerror or exc}")
            else:
                terminal.write_line(f"coverage JSON written to {settings.coverage_json}")
    if verdict.status == int(pytest.ExitCode.USAGE_ERROR) and (verdict.input_problems or verdict.input_failures):
        terminal.section("contract verdict")
        terminal.write_line("the suite's own input is wrong; nothing was sent to the target:")
        for problem in verdict.input_problems:
            terminal.write_line(f"  {problem}")
        terminal.write_line(verdict_line(verdict, coverage, secrets), red=True, bold=True)
        return
    ledger = verdict.ledger
    if verdict.status is None or ledger is None:  # no request was sent to a target: no contract verdict
        return
    terminal.section("contract verdict")
    terminal.write_line(costs_words(verdict, secrets))
    gateway = gateway_words(ledger, settings)
    if gateway:
        terminal.write_line(secrets.mask(gateway))
    refused = codes_words(ledger)
    if refused:
        terminal.write_line(refused)
    line = verdict_line(verdict, coverage, secrets)
    if line:
        holds = line.startswith("HOLDS")
        terminal.write_line(line, green=holds, red=not holds, bold=True)


NAMED_FAILURES = 3  # failed cases the BROKEN line names; the rest are counted


def failed_cases(verdict: Verdict, coverage: Coverage) -> list[str]:
    """Each failed case in a few words: the code it is about and its test's name, e.g. `5175 new phone in
    cancellation (test_new_phone_in_cancellation)`."""
    named = []
    for nodeid in verdict.contract_failures:
        test = nodeid.split("::", 1)[-1]
        codes = verdict.failed_codes.get(nodeid) or []
        entry = coverage.operation.codes.get(codes[0]) if codes else None
        named.append(f"{codes[0]} {entry.name.replace('-', ' ')} ({test})" if entry else test)
    return named


def _what_broke(verdict: Verdict, coverage: Coverage) -> str:
    """The first NAMED_FAILURES failed cases in a few words each, then how many more."""
    named = failed_cases(verdict, coverage)
    more = len(named) - NAMED_FAILURES
    return "; ".join(named[:NAMED_FAILURES]) + (f"; and {more} more" if more > 0 else "")


def verdict_word(verdict: Verdict) -> str | None:
    """HOLDS, BROKEN or CANNOT JUDGE; None before the run ended, or when it sent nothing to a target."""
    if verdict.status == int(pytest.ExitCode.USAGE_ERROR) and (verdict.input_problems or verdict.input_failures):
        return "INPUT WRONG"
    if verdict.status is None or not verdict.ledgers:
        return None
    return {0: "HOLDS", 1: "BROKEN", EXIT_CANNOT_JUDGE: "CANNOT JUDGE"}.get(verdict.status)


def verdict_line(verdict: Verdict, coverage: Coverage, secrets: Secrets) -> str | None:
    """The verdict in the terminal's words (HOLDS, BROKEN, CANNOT JUDGE) on one line, or None when there is none."""
    line = _verdict_words(verdict, coverage, secrets)
    return None if line is None else " ".join(line.split("\n"))


def _verdict_words(verdict: Verdict, coverage: Coverage, secrets: Secrets) -> str | None:
    if verdict_word(verdict) == "INPUT WRONG":
        count = len(verdict.input_problems) or len(verdict.input_failures)
        what = "problem(s), each named with its rule and place" if verdict.input_problems else "failed lint case(s)"
        return (
            f"INPUT WRONG (exit 4): the suite's own input (the spec, its knife4j page) has {count} {what}; "
            "fix it and run again (no request was sent: the endpoint is not judged)"
        )
    if verdict.status is None or not verdict.ledgers:
        return None
    if verdict.status == EXIT_CANNOT_JUDGE and verdict.reason:
        return f"CANNOT JUDGE (exit 2): {secrets.mask(verdict.reason)}"
    if verdict.status == int(pytest.ExitCode.TESTS_FAILED):
        line = f"BROKEN (exit 1): {_what_broke(verdict, coverage)}"
        if verdict.stopped:
            line += f"; {STOPPED_AFTER}{secrets.mask(verdict.stopped)}"
        return line
    if verdict.status == int(pytest.ExitCode.OK):
        judged = f"judged {len(coverage.judged)} of {len(coverage.exercisable)} exercisable documented codes"
        judged += "".join(
            f"; {label}: judged {len(part.judged)} of {len(part.exercisable)}"
            for label, part in coverage.operations.items()
        )
        left = sorted({code for codes in coverage.unjudged_anywhere().values() for code in codes})
        rest = ""
        if left and verdict.partial:
            rest = f"; not judged: {', '.join(map(str, left))} (see above; accepted by --allow-partial)"
        elif left:
            rest = f"; not judged: {', '.join(map(str, left))} (see above)"
        holds = "HOLDS (exit 0), partial," if verdict.partial else "HOLDS (exit 0)"
        return f"{holds} on what was judged: {judged}{rest}"
    return None
