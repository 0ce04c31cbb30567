"""Unit tests of contract_suite/reporting/summary.py: the exit status and the verdict line."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from contract_suite.engine.coverage import Coverage
from contract_suite.engine.evidence import SOURCE, Suspect
from contract_suite.engine.ledger import CodeRecord, Ledger
from contract_suite.openapi import spec
from contract_suite.outcomes import EXIT_CANNOT_JUDGE
from contract_suite.reporting import coverage_table
from contract_suite.reporting.summary import Verdict, verdict_line, verdict_word
from contract_suite.secrets import (
    Secrets,
)
from tests.support.operations import OTHER

pytestmark = pytest.mark.selftest

CONTRACT = spec.load(spec.DEFAULT_SPEC)
EXERCISABLE = sorted(c for c, entry in CONTRACT.codes.items() if entry.exercisable)


# -- summary: the exit status and the verdict line ---------------------------------------------------------------

CANNOT_JUDGE_PROPERTY = ("contract", "cannot judge")
SETTINGS = SimpleNamespace(base_url="http://target.test", require_all_codes=False, allow_partial=False)


def judged_everything() -> Coverage:
    coverage = Coverage(CONTRACT)
    coverage.exercised(EXERCISABLE)
    return coverage


def verdict_of(*ledgers: Ledger, failures=(), cannot_judge=()) -> Verdict:
    verdict = Verdict(CANNOT_JUDGE_PROPERTY, contract_failures=list(failures), cannot_judge=list(cannot_judge))
    for ledger in ledgers:
        verdict.add_ledger(ledger)
    return verdict


def run_(answers=10, envelopes=10, stopped=None, base_url="http://target.test", sent=10, **more) -> Ledger:
    return Ledger(base_url=base_url, stopped=stopped, answers=answers, envelopes=envelopes, sent=sent, **more)


def hinging_on(number: str) -> dict:
    """The ledger's suspects of a failed case "x" whose failures hinge on a code of the source for number."""
    return {"x": frozenset({Suspect(SOURCE, number)})}


def test_reports_are_counted_as_contract_failures_or_cannot_judge():
    verdict = verdict_of()
    passed = SimpleNamespace(failed=False, nodeid="a", user_properties=[CANNOT_JUDGE_PROPERTY], keywords={})
    broken = SimpleNamespace(failed=True, nodeid="b", user_properties=[("other", "x")], keywords={})
    unjudged = SimpleNamespace(failed=True, nodeid="c", user_properties=[list(CANNOT_JUDGE_PROPERTY)], keywords={})
    linted = SimpleNamespace(failed=True, nodeid="d", user_properties=[], keywords={"lint": 1})
    for report in (passed, broken, unjudged, linted):
        verdict.pytest_runtest_logreport(report)
    assert verdict.contract_failures == ["b"] and verdict.cannot_judge == ["c"] and verdict.input_failures == ["d"]
    verdict.add_ledger(None)
    assert verdict.ledgers == [] and verdict.ledger is None


def test_an_error_of_pytest_itself_is_its_own_status():
    verdict = verdict_of(run_(), failures=["x"])
    assert verdict.exit_status(pytest.ExitCode.USAGE_ERROR, SETTINGS, judged_everything()) == 4
    assert verdict.status == 4 and verdict.reason is None and verdict.stopped is None


@pytest.mark.parametrize(
    ("runs", "status"),
    [
        pytest.param([run_(answers=3, envelopes=0)], EXIT_CANNOT_JUDGE, id="three-answers-no-envelope"),
        pytest.param([run_(answers=2, envelopes=0), run_(answers=1, envelopes=0)], EXIT_CANNOT_JUDGE, id="summed"),
        pytest.param([run_(answers=2, envelopes=0)], 1, id="two-answers-too-few-to-say"),
        pytest.param([run_(answers=3, envelopes=1)], 1, id="one-envelope"),
        pytest.param([run_(answers=3, envelopes=0), run_(answers=0, envelopes=1)], 1, id="one-envelope-summed"),
    ],
)
def test_failures_without_any_envelope_mean_the_url_does_not_serve_the_endpoint(runs, status):
    verdict = verdict_of(*runs, failures=["x"])
    assert verdict.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything()) == status
    assert verdict.status == status
    if status == EXIT_CANNOT_JUDGE:
        answers = sum(r.answers for r in runs)
        assert verdict.reason.startswith(f"none of the {answers} answers of http://target.test was a JSON envelope")
    else:
        assert verdict.reason is None


def test_the_url_named_is_the_runs_else_the_settings():
    verdict = verdict_of(run_(answers=3, envelopes=0, base_url="http://run.test"), failures=["x"])
    verdict.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything())
    assert "answers of http://run.test was" in verdict.reason


def test_a_contract_failure_outranks_a_stop_and_unjudged_cases():
    verdict = verdict_of(run_(stopped="the target went away"), failures=["x"], cannot_judge=["y"])
    assert verdict.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, Coverage(CONTRACT)) == 1
    assert verdict.stopped == "the target went away" and verdict.reason is None
    assert verdict_word(verdict) == "BROKEN"
    assert verdict_line(verdict, Coverage(CONTRACT), Secrets()) == (
        "BROKEN (exit 1): x; then the run stopped, sending nothing more: the target went away"
    )


@pytest.mark.parametrize("source", ["command", "function"])
def test_codes_never_accepted_from_the_source_name_its_profile_key(source):
    """Every fresh code the profile's command or function gave was refused, none ever accepted: cannot judge,
    naming the key that gives them."""
    never = CodeRecord(source=source, source_accepted=False)
    verdict = verdict_of(run_(codes=never, suspects=hinging_on("86-13800000001")), failures=["x"])
    assert verdict.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything()) == EXIT_CANNOT_JUDGE
    assert verdict.reason == (
        f"the target refused every SMS code the [codes] {source} gave for 86-13800000001, fresh ones too: check that "
        f"the {source} reads this target's codes (the same database or environment); if it does, the target rejects "
        "valid codes"
    )


def test_failures_excused_by_someone_else_keep_the_stop_on_the_line():
    """Every failure hinges on codes someone else voided: cannot judge, and an account the run could not put back
    is still on the one line, with how to move it back by hand."""
    left = "THE TEST ACCOUNT MAY NOW HOLD 86-13800000002; set it back to 86-13800000001 by hand"
    voided = CodeRecord(source_accepted=True, voided_between_fetch_and_use=2)
    verdict = verdict_of(run_(stopped=left, codes=voided, suspects=hinging_on("86-13800000002")), failures=["x"])
    assert verdict.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything()) == EXIT_CANNOT_JUDGE
    assert verdict.reason.startswith("someone else uses the test data during the run: SMS codes for 86-13800000002")
    assert verdict.reason.endswith(f"; then the run stopped, sending nothing more: {left}")
    assert verdict_line(verdict, judged_everything(), Secrets()).startswith("CANNOT JUDGE (exit 2): someone else")


def test_fresh_codes_refused_while_someone_else_moved_the_account_cannot_be_judged():
    """Two pipelines on one account: the other one's fetches void each fresh code this run fetched, and it moved
    the account. The refusal is not the target's to blame: cannot judge. The same refusals with nobody else seen
    (the target accepted the source's codes before) stay BROKEN."""
    moved = "the test account was changed by someone else during the run: it no longer holds 86-13800000001"
    shared = verdict_of(
        run_(
            stopped=moved,
            codes=CodeRecord(source_accepted=True),
            account_moved_by_someone_else=True,
            suspects=hinging_on("86-13800000002"),
        ),
        failures=["x"],
    )
    assert shared.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything()) == EXIT_CANNOT_JUDGE
    assert shared.reason.startswith("someone else uses the test data during the run: SMS codes for 86-13800000002")
    assert shared.reason.startswith(
        "someone else uses the test data during the run: SMS codes for 86-13800000002 fetched a moment before were "
        "refused, and the test account moved with no request of this run moving it; another run or a person"
    )
    assert shared.reason.endswith(f"; then the run stopped, sending nothing more: {moved}")
    alone = verdict_of(
        run_(codes=CodeRecord(source_accepted=True), suspects=hinging_on("86-13800000002")), failures=["x"]
    )
    assert alone.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything()) == 1


def test_the_broken_line_names_each_failed_cases_code_from_the_ledger():
    registered = CONTRACT.code_named("new-phone-registered")
    ledger = run_(failed_codes={"t.py::test_new_phone_registered": (registered,), "t.py::test_other": ()})
    verdict = verdict_of(ledger, failures=["t.py::test_new_phone_registered", "t.py::test_other"])
    assert verdict.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything()) == 1
    assert verdict.failed_codes == ledger.failed_codes
    assert verdict_line(verdict, judged_everything(), Secrets()) == (
        f"BROKEN (exit 1): {registered} new phone registered (test_new_phone_registered); test_other"
    )


def test_a_stop_is_the_reason_and_the_first_stop_is_named():
    verdict = verdict_of(run_(), run_(stopped="first\nreason"), run_(stopped="second"), cannot_judge=["y"])
    assert verdict.exit_status(pytest.ExitCode.INTERRUPTED, SETTINGS, judged_everything()) == EXIT_CANNOT_JUDGE
    assert verdict.reason == verdict.stopped == "first\nreason"
    assert verdict_word(verdict) == "CANNOT JUDGE"
    assert verdict_line(verdict, judged_everything(), Secrets()) == "CANNOT JUDGE (exit 2): first reason"


def test_cases_without_a_whole_answer_cannot_be_judged():
    verdict = verdict_of(run_(), cannot_judge=["y", "z"])
    assert verdict.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything()) == EXIT_CANNOT_JUDGE
    assert verdict.reason.startswith("2 case(s) got no whole answer")


def test_require_all_codes_counts_the_users_own_choices():
    coverage = judged_everything()
    coverage.exercised_codes.discard(EXERCISABLE[0])
    coverage.skip([EXERCISABLE[0]], "deselected")  # the user's choice, not for want of data
    settings = SimpleNamespace(**{**vars(SETTINGS), "require_all_codes": True})
    verdict = verdict_of(run_())
    assert verdict.exit_status(pytest.ExitCode.OK, settings, coverage) == EXIT_CANNOT_JUDGE
    assert verdict.reason == f"--require-all-codes: {coverage_table.judged_line(coverage)}"
    assert not verdict.partial
    relaxed = verdict_of(run_())
    assert relaxed.exit_status(pytest.ExitCode.OK, SETTINGS, coverage) == 0 and not relaxed.partial
    assert verdict_line(relaxed, coverage, Secrets()).endswith(f"; not judged: {EXERCISABLE[0]} (see above)")


def test_codes_left_for_want_of_data_are_a_partial_judgement():
    coverage = judged_everything()
    coverage.exercised_codes.discard(EXERCISABLE[0])
    coverage.skip([EXERCISABLE[0]], "add [codes]", lacking=True, needs="[codes] static")
    verdict = verdict_of(run_())
    assert verdict.exit_status(pytest.ExitCode.OK, SETTINGS, coverage) == EXIT_CANNOT_JUDGE
    judged = f"judged {len(coverage.judged)} of {len(coverage.exercisable)} exercisable documented codes"
    assert verdict.reason == (
        f"a partial judgement: {judged}; {EXERCISABLE[0]} not judged for want of data (the coverage table above says "
        "which code needs what); to judge them add [codes] static, or pass --allow-partial to accept a partial "
        "judgement"
    )
    assert verdict.partial
    allowed = verdict_of(run_())
    settings = SimpleNamespace(**{**vars(SETTINGS), "allow_partial": True})
    assert allowed.exit_status(pytest.ExitCode.OK, settings, coverage) == 0 and allowed.partial
    assert verdict_word(allowed) == "HOLDS"
    judged = len(EXERCISABLE) - 1
    assert verdict_line(allowed, coverage, Secrets()) == (
        f"HOLDS (exit 0), partial, on what was judged: judged {judged} of {len(EXERCISABLE)} exercisable documented "
        f"codes; not judged: {EXERCISABLE[0]} (see above; accepted by --allow-partial)"
    )


def test_everything_judged_holds():
    verdict = verdict_of(run_())
    assert verdict.exit_status(pytest.ExitCode.OK, SETTINGS, judged_everything()) == 0
    assert verdict.status == 0 and verdict.reason is None and not verdict.partial
    assert verdict_line(verdict, judged_everything(), Secrets()) == (
        f"HOLDS (exit 0) on what was judged: judged {len(EXERCISABLE)} of {len(EXERCISABLE)} exercisable "
        "documented codes"
    )


def test_no_verdict_before_the_end_or_without_a_run():
    verdict = verdict_of()
    assert verdict_word(verdict) is None and verdict_line(verdict, judged_everything(), Secrets()) is None
    verdict.status = 0
    assert verdict_word(verdict) is None and verdict_line(verdict, judged_everything(), Secrets()) is None
    ran = verdict_of(run_())
    assert verdict_word(ran) is None and verdict_line(ran, judged_everything(), Secrets()) is None
    ran.status = EXIT_CANNOT_JUDGE  # no reason: no line
    assert verdict_line(ran, judged_everything(), Secrets()) is None
    ran.status = 4
    assert verdict_word(ran) is None and verdict_line(ran, judged_everything(), Secrets()) is None


def test_the_verdict_masks_secrets():
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    verdict = verdict_of(run_(stopped="code 681193"), failures=["x"])
    verdict.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything())
    assert verdict_line(verdict, judged_everything(), secrets).endswith("sending nothing more: code <sms-code>")
    stopped = verdict_of(run_(stopped="code 681193"))
    stopped.exit_status(pytest.ExitCode.OK, SETTINGS, judged_everything())
    assert verdict_line(stopped, judged_everything(), secrets) == "CANNOT JUDGE (exit 2): code <sms-code>"


def test_the_other_operations_have_their_sections_and_lines():
    coverage = Coverage(CONTRACT, [OTHER])
    coverage.exercised(EXERCISABLE)
    coverage.skip([7001], "add [nick]", OTHER, lacking=True)
    part = coverage.operations["getNickname"]
    assert part.exercisable == [0, 7001]
    assert coverage_table.judged_lines_of_others(coverage) == [f"getNickname: {coverage_table.judged_line(part)}"]
    assert coverage_table.other_sections(coverage) == [
        "",
        "operation getNickname (GET /nick):",
        *coverage_table.table(part),
        coverage_table.judged_line(part),
    ]
    assert coverage.unjudged_for_want() == {"getNickname": {7001: "add [nick]"}}
    nothing_selected = "no case selected in this run expects it"
    assert coverage.unjudged_anywhere() == {"getNickname": {0: nothing_selected, 7001: "add [nick]"}}
    verdict = verdict_of(run_())
    assert verdict.exit_status(pytest.ExitCode.OK, SETTINGS, coverage) == EXIT_CANNOT_JUDGE
    assert verdict.reason.startswith("a partial judgement: ") and "; 7001 not judged for want of data" in verdict.reason
    settings = SimpleNamespace(**{**vars(SETTINGS), "require_all_codes": True})
    strict = verdict_of(run_())
    strict.exit_status(pytest.ExitCode.OK, settings, coverage)
    lines = (coverage_table.judged_line(coverage), coverage_table.judged_line(part))
    assert strict.reason == "--require-all-codes: {}; getNickname: {}".format(*lines)
    allowed = verdict_of(run_())
    allowed.exit_status(pytest.ExitCode.OK, SimpleNamespace(**{**vars(SETTINGS), "allow_partial": True}), coverage)
    assert verdict_line(allowed, coverage, Secrets()) == (
        f"HOLDS (exit 0), partial, on what was judged: judged {len(EXERCISABLE)} of {len(EXERCISABLE)} exercisable "
        "documented codes; getNickname: judged 0 of 2; not judged: 0, 7001 (see above; accepted by --allow-partial)"
    )


def test_the_suites_own_input_wrong_is_exit_4_and_never_broken():
    """A problem of the spec or its page (found before any request, or by a lint case) is the user's: exit 4."""
    problems = ("business-codes-consistent: /paths/x: missing-code 5999 of 'newPhoneCode' is not in x-business-codes",)
    verdict = Verdict(CANNOT_JUDGE_PROPERTY, input_problems=problems, input_failures=["lint"])
    assert verdict.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything()) == 4
    assert verdict_word(verdict) == "INPUT WRONG"
    assert verdict_line(verdict, judged_everything(), Secrets()).startswith(
        "INPUT WRONG (exit 4): the suite's own input (the spec, its knife4j page) has 1 problem(s), each named "
        "with its rule and place"
    )
    failed_lint_only = Verdict(CANNOT_JUDGE_PROPERTY, input_failures=["a", "b"])
    assert failed_lint_only.exit_status(pytest.ExitCode.TESTS_FAILED, SETTINGS, judged_everything()) == 4
    assert "has 2 failed lint case(s);" in verdict_line(failed_lint_only, judged_everything(), Secrets())
    usage = Verdict(CANNOT_JUDGE_PROPERTY, input_problems=problems)
    assert usage.exit_status(pytest.ExitCode.INTERNAL_ERROR, SETTINGS, judged_everything()) == 3
