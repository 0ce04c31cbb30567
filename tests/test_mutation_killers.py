"""In-process self-tests written for the mutants that survived the suite's own mutation run (bench/mutation.py,
docs/mutation.md): each pins a promise of secrets, summary, coverage, transport or account that the slower
end-to-end self-tests judge only through a whole suite run, or not at all. A few seconds in all."""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import random
import sys
import threading
import time
import zlib
from types import SimpleNamespace
from urllib.parse import quote, quote_plus, urlsplit

import pytest

import contract_suite.http.transport as transport_module
from contract_suite.engine.account import AccountKeeper
from contract_suite.http.network import Proxies, ProxyError, Tls
from contract_suite.http.transport import (
    Answer,
    Limits,
    NoAnswer,
    Request,
    RequestCapReached,
    Transport,
    TransportClosed,
    _Decoder,
)
from contract_suite.openapi import spec
from contract_suite.outcomes import EXIT_CANNOT_JUDGE
from contract_suite.reporting.coverage import Coverage
from contract_suite.reporting.summary import Verdict, verdict_line, verdict_word
from contract_suite.secrets import (
    MaskingRecordFactory,
    Secret,
    Secrets,
    escape_controls,
    install_log_masking,
    remove_log_masking,
)
from contract_suite.testdata.profile import Phone
from tests.support import hostile

pytestmark = pytest.mark.selftest

CONTRACT = spec.load(spec.DEFAULT_SPEC)
EXERCISABLE = sorted(c for c, entry in CONTRACT.codes.items() if entry.exercisable)
NOT_EXERCISABLE = sorted(c for c, entry in CONTRACT.codes.items() if not entry.exercisable)
SUCCESS = CONTRACT.success_code
OLD_PHONE_INCORRECT = CONTRACT.code_named("old-phone-incorrect")
NEW_PHONE_REGISTERED = CONTRACT.code_named("new-phone-registered")
UNDOCUMENTED_CODE = max(CONTRACT.codes) + 1


# -- secrets ---------------------------------------------------------------------------------------------------


def test_controls_are_escaped_and_tab_and_line_feed_kept():
    shown = escape_controls("a\tb\nc\x00\x08\x0b\x1b[2J\r\x7f\x9f\u2028\u2029\u202a\u202e\u2066\u2069 \xa0z")
    assert shown == (
        "a\tb\nc\\u0000\\u0008\\u000b\\u001b[2J\\u000d\\u007f\\u009f\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069 \xa0z"
    )


def test_a_secret_sends_as_itself_and_shows_as_its_label():
    secret = Secret("Bearer abc", "valid-token")
    assert secret == "Bearer abc" and str(secret) == "Bearer abc" and repr(secret) == "<valid-token>"
    assert secret.label == "valid-token"


def test_a_secret_is_registered_whole_bare_and_url_encoded():
    secrets = Secrets()
    assert secrets.add(None, "x") is None and secrets.add("", "x") is None and len(secrets) == 0
    made = secrets.add("Bearer a/b c+d", "valid-token")
    assert isinstance(made, Secret) and made == "Bearer a/b c+d" and repr(made) == "<valid-token>"
    bare = "a/b c+d"
    assert set(secrets) == {
        "Bearer a/b c+d",
        quote("Bearer a/b c+d", safe=""),
        quote_plus("Bearer a/b c+d"),
        bare,
        quote(bare, safe=""),
        quote_plus(bare),
    }
    assert all(secrets.label(form) == "valid-token" for form in secrets)
    assert secrets.label(123) is None and secrets.label("other") is None


def test_a_bare_token_of_four_characters_is_masked_of_three_is_not():
    secrets = Secrets()
    secrets.add("Bearer abcd", "four")
    secrets.add("Token xyz", "three")
    assert secrets.mask("abcd xyz") == "<four> xyz"
    assert secrets.mask("Token xyz") == "<three>"
    plain = Secrets()
    plain.add("abcd", "no-prefix")  # no prefix: the value itself, once (its bare form is itself)
    assert set(plain) == {"abcd"}


def test_the_first_label_of_a_value_wins():
    secrets = Secrets()
    secrets.add("681193", "first")
    secrets.add("681193", "second")
    assert secrets.mask("681193") == "<first>"


def test_a_secret_added_after_masking_is_masked_too():
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    assert secrets.mask("681193 and 552211") == "<sms-code> and 552211"
    secrets.add("552211", "other-code")
    assert secrets.mask("681193 and 552211") == "<sms-code> and <other-code>"


def test_masking_leaves_empty_text_and_longer_runs_alone():
    secrets = Secrets()
    assert secrets.mask("") == "" and secrets.mask("\x1b") == "\\u001b"  # no secret yet: controls escaped still
    secrets.add("681193", "sms-code")
    assert secrets.mask("") == ""
    assert secrets.mask("x681193 6811930 a-681193-b") == "x681193 6811930 a-<sms-code>-b"
    assert secrets.mask("\x1b681193") == "\\u001b<sms-code>"


def test_the_longest_secret_is_masked_first():
    secrets = Secrets()
    secrets.add("ab-12", "short")
    secrets.add("ab-12-cd", "long")
    assert secrets.mask("ab-12-cd ab-12") == "<long> <short>"


def test_a_shortened_repr_is_masked_from_three_characters():
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    assert secrets.mask("'681...' '68...'") == "'<sms-code>' '68...'"
    assert secrets.mask("'...193' '...93'") == "'<sms-code>' '...93'"
    assert secrets.mask("'68119...'") == "'<sms-code>'"  # the longest start before the cut
    assert secrets.mask("x681... 681...x") == "x681... <sms-code>x"


def test_the_longest_end_of_a_secret_after_the_cut_is_masked():
    """One secret's end ("5678") can begin another's ("5678-00"): the longer is masked, none of it left showing."""
    secrets = Secrets()
    secrets.add("1234-5678", "first")
    secrets.add("99-5678-00", "second")
    assert secrets.mask("'...5678-00'") == "'<second>'"
    assert secrets.mask("'...5678'") == "'<first>'"


def test_a_secret_of_three_characters_leaves_no_fragment():
    secrets = Secrets()
    secrets.add("abc", "tiny")
    assert secrets.mask("abc ab... ...bc") == "<tiny> ab... ...bc"


def test_copy_keeps_the_labels_and_is_its_own():
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    copied = secrets.copy()
    copied.add("552211", "other")
    assert copied.mask("681193 552211") == "<sms-code> <other>"
    assert secrets.mask("681193 552211") == "<sms-code> 552211"


def test_mask_any_goes_into_lists_tuples_and_dicts():
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    masked = secrets.mask_any({"k": ["681193", ("681193", 5)], "n": None})
    assert masked == {"k": ["<sms-code>", ("<sms-code>", 5)], "n": None}
    assert type(masked["k"][1]) is tuple and secrets.mask_any(7) == 7


def _record(factory, msg, args=(), exc_info=None, stack_info=None):
    return factory("name", logging.INFO, "f.py", 1, msg, args, exc_info, None, stack_info)


def test_a_log_record_is_masked_as_it_is_made():
    secrets = Secrets()
    factory = MaskingRecordFactory(secrets, logging.LogRecord)
    untouched = _record(factory, "token %s", ("681193",))
    assert untouched.msg == "token %s" and untouched.args == ("681193",)  # no secret yet: the record as it was
    secrets.add("681193", "sms-code")
    record = _record(factory, "token %s", ("681193",))
    assert record.msg == "token <sms-code>" and record.args is None
    broken = _record(factory, "%d", ("681193",))  # a malformed record: its parts, masked
    assert broken.msg == "'%d' % ('<sms-code>',)"
    try:
        raise ValueError("681193")
    except ValueError:
        record = _record(factory, "failed", exc_info=sys.exc_info(), stack_info="stack 681193")
    assert "ValueError: <sms-code>" in record.exc_text and record.stack_info == "stack <sms-code>"
    record = _record(factory, "plain", stack_info=None)
    assert record.stack_info is None and record.exc_text is None


def test_log_masking_is_installed_and_removed():
    before = logging.getLogRecordFactory()
    factory = install_log_masking(Secrets())
    try:
        assert logging.getLogRecordFactory() is factory and factory.wrapped is before
        other = install_log_masking(Secrets())
        remove_log_masking(factory)  # not the current one: left in place
        assert logging.getLogRecordFactory() is other
        remove_log_masking(other)
        assert logging.getLogRecordFactory() is factory
    finally:
        remove_log_masking(factory)
    assert logging.getLogRecordFactory() is before


# -- summary: the exit status and the verdict line ---------------------------------------------------------------

CANNOT_JUDGE_PROPERTY = ("contract", "cannot judge")
SETTINGS = SimpleNamespace(base_url="http://target.test", require_all_codes=False, allow_partial=False)


def judged_everything() -> Coverage:
    coverage = Coverage(CONTRACT)
    coverage.exercised(EXERCISABLE)
    return coverage


def verdict_of(*runs: dict, failures=(), cannot_judge=()) -> Verdict:
    verdict = Verdict(CANNOT_JUDGE_PROPERTY, contract_failures=list(failures), cannot_judge=list(cannot_judge))
    for run in runs:
        verdict.add_run(run)
    return verdict


def run_(answers=10, envelopes=10, stopped=None, base_url="http://target.test", sent=10) -> dict:
    return {"base_url": base_url, "stopped": stopped, "answers": answers, "envelopes": envelopes, "sent": sent}


def test_reports_are_counted_as_contract_failures_or_cannot_judge():
    verdict = verdict_of()
    passed = SimpleNamespace(failed=False, nodeid="a", user_properties=[CANNOT_JUDGE_PROPERTY])
    broken = SimpleNamespace(failed=True, nodeid="b", user_properties=[("other", "x")])
    unjudged = SimpleNamespace(failed=True, nodeid="c", user_properties=[list(CANNOT_JUDGE_PROPERTY)])
    for report in (passed, broken, unjudged):
        verdict.pytest_runtest_logreport(report)
    assert verdict.contract_failures == ["b"] and verdict.cannot_judge == ["c"]
    verdict.add_run({})
    assert verdict.runs == []


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
        answers = sum(r["answers"] for r in runs)
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
    assert verdict.reason == f"--require-all-codes: {coverage.judged_line()}"
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


# -- coverage --------------------------------------------------------------------------------------------------

OTHER_CODES = {
    0: spec.BusinessCode(0, "success", "ok", "a valid request", success=True),
    7001: spec.BusinessCode(7001, "missing-app", "Please enter app", "appId absent"),
    7002: spec.BusinessCode(7002, "internal", "Internal", "cannot be provoked", exercisable=False),
}
OTHER = dataclasses.replace(CONTRACT, operation_id="getNickname", method="GET", path="/nick", codes=OTHER_CODES)
OTHER = dataclasses.replace(OTHER, primary=False)
UNJUDGED_OPERATION = dataclasses.replace(OTHER, operation_id="noCodes", codes={})


def test_each_operation_has_its_table_and_only_the_judged_ones():
    coverage = Coverage(CONTRACT, [CONTRACT, OTHER, UNJUDGED_OPERATION])
    assert list(coverage.operations) == ["getNickname"]
    assert coverage.of(None) is coverage and coverage.of(CONTRACT) is coverage
    assert coverage.of(OTHER) is coverage.operations["getNickname"] and coverage.of(UNJUDGED_OPERATION) is None
    assert not coverage.anything
    coverage.saw(7001, OTHER)
    assert coverage.anything and not coverage.seen
    coverage.saw(None)
    coverage.saw(OLD_PHONE_INCORRECT, UNJUDGED_OPERATION)
    coverage.exercised([OLD_PHONE_INCORRECT], UNJUDGED_OPERATION)
    coverage.skip([OLD_PHONE_INCORRECT], "why", UNJUDGED_OPERATION, lacking=True)
    assert not coverage.seen and not coverage.exercised_codes and not coverage.skipped and not coverage.lacking


@pytest.mark.parametrize("what", ["seen", "exercised", "skipped"])
def test_anything_is_any_code_seen_expected_or_skipped(what):
    coverage = Coverage(CONTRACT)
    {"seen": lambda: coverage.saw(SUCCESS), "exercised": lambda: coverage.exercised([SUCCESS])}.get(
        what, lambda: coverage.skip([SUCCESS], "why")
    )()
    assert coverage.anything


def test_the_table_says_of_each_code_what_the_run_did():
    coverage = Coverage(CONTRACT)
    first, second, third, fourth, fifth = EXERCISABLE[:5]
    coverage.exercised([first, second])
    coverage.saw(first)
    coverage.saw(first)
    coverage.skip([third], "b reason")
    coverage.skip([third], "a reason")
    coverage.saw(fourth)
    coverage.saw(99999)
    coverage.saw(str(OLD_PHONE_INCORRECT))  # a documented code, but as a string: not that code
    rows = {row["code"]: row for row in coverage.rows()}
    assert rows[first] == {"code": first, "name": CONTRACT.codes[first].name, "status": "seen", "seen": 2, "detail": ""}
    assert rows[second]["status"] == "exercised, not seen" and rows[second]["seen"] == 0
    assert rows[third]["status"] == "skipped" and rows[third]["detail"] == "a reason; b reason"
    assert rows[fourth]["status"] == "seen" and rows[fourth]["detail"] == "only in answers to other cases"
    assert rows[fifth]["status"] == "not exercised"
    for code in NOT_EXERCISABLE:
        assert rows[code]["status"] == "not exercisable" and rows[code]["detail"] == CONTRACT.codes[code].provoked_by
    assert coverage.undocumented() == {"99999": 1, f'"{OLD_PHONE_INCORRECT}"': 1}
    table = coverage.table()
    assert table[0] == f"{'code':>5}  {'name':<32} {'status':<20} {'answers':>7}  detail"
    assert f"{first:>5}  {CONTRACT.codes[first].name:<32} {'seen':<20} {2:>7}" == table[1 + sorted(rows).index(first)]
    assert f"99999  {'(undocumented)':<32} {'seen':<20} {1:>7}  not in the spec's x-business-codes" in table
    coverage.note("b note")
    coverage.note("a note")
    assert coverage.table()[-2:] == ["not applicable: a note", "not applicable: b note"]


def test_the_judged_line_groups_the_unjudged_codes_by_why():
    coverage = Coverage(CONTRACT)
    coverage.exercised(EXERCISABLE[3:])
    coverage.skip(EXERCISABLE[:2], "add [codes]", lacking=True)
    assert coverage.judged == EXERCISABLE[3:]
    assert coverage.exercisable == EXERCISABLE
    assert coverage.unjudged() == {
        EXERCISABLE[0]: "add [codes]",
        EXERCISABLE[1]: "add [codes]",
        EXERCISABLE[2]: "no case selected in this run expects it",
    }
    assert coverage.judged_line() == (
        f"judged {len(EXERCISABLE) - 3} of {len(EXERCISABLE)} exercisable documented codes; not judged: "
        f"{EXERCISABLE[0]}, {EXERCISABLE[1]} (add [codes]); {EXERCISABLE[2]} (no case selected in this run expects it)"
    )
    assert coverage.unjudged_for_want() == {CONTRACT.label: {c: "add [codes]" for c in EXERCISABLE[:2]}}
    assert set(coverage.unjudged_anywhere()[CONTRACT.label]) == set(EXERCISABLE[:3])
    coverage.exercised(EXERCISABLE[:3])
    assert coverage.unjudged_anywhere() == {} and coverage.unjudged_for_want() == {}
    assert coverage.judged_line() == f"judged {len(EXERCISABLE)} of {len(EXERCISABLE)} exercisable documented codes"


def test_a_worker_state_merges_whole():
    worker = Coverage(CONTRACT, [OTHER])
    worker.saw(SUCCESS)
    worker.exercised([EXERCISABLE[0]])
    worker.skip([EXERCISABLE[1]], "why", lacking=True)
    worker.note("a note")
    worker.exercised([7001], OTHER)
    worker.saw(7001, OTHER)
    state = json.loads(json.dumps(worker.state()))  # as it crosses from an xdist worker
    assert set(state) == {"seen", "exercised", "skipped", "notes", "lacking", "needs", "rules", "operations"}
    assert "operations" not in Coverage(CONTRACT).state()
    merged = Coverage(CONTRACT, [OTHER])
    merged.merge(state)
    merged.merge({"seen": {}, "exercised": [], "skipped": {}, "operations": {"unknown": state}})
    assert merged.state() == worker.state()
    assert merged.as_json() == worker.as_json()


def test_the_json_names_every_operation_and_is_masked(tmp_path):
    coverage = Coverage(CONTRACT, [OTHER])
    coverage.exercised(EXERCISABLE)
    coverage.saw(99999)
    coverage.note("681193 reusable")
    coverage.exercised([7001], OTHER)
    data = coverage.as_json()
    assert data["spec"] == str(CONTRACT.spec_path) and data["spec_version"] == CONTRACT.version
    assert data["judged"] == EXERCISABLE and data["not_judged"] == {} and data["undocumented_seen"] == {"99999": 1}
    other = data["operations"]["getNickname"]
    assert other["judged"] == [7001] and "operations" not in other
    assert "operations" not in Coverage(CONTRACT).as_json()
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    path = tmp_path / "deeper" / "still" / "coverage.json"
    coverage.write_json(path, secrets.mask)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["notes"] == ["<sms-code> reusable"] and written["codes"] == data["codes"]
    coverage.note("验证码 681193")  # written as it reads (and masked: an escaped \uXXXX form would hide a secret)
    coverage.write_json(tmp_path / "coverage.json", secrets.mask)  # into a folder that exists
    text = (tmp_path / "coverage.json").read_text(encoding="utf-8")
    assert '"验证码 <sms-code>"' in text and text.startswith('{\n  "spec": ') and text.endswith("}\n")


def test_the_other_operations_have_their_sections_and_lines():
    coverage = Coverage(CONTRACT, [OTHER])
    coverage.exercised(EXERCISABLE)
    coverage.skip([7001], "add [nick]", OTHER, lacking=True)
    part = coverage.operations["getNickname"]
    assert part.exercisable == [0, 7001]
    assert coverage.judged_lines_of_others() == [f"getNickname: {part.judged_line()}"]
    assert coverage.other_sections() == ["", "operation getNickname (GET /nick):", *part.table(), part.judged_line()]
    assert coverage.unjudged_for_want() == {"getNickname": {7001: "add [nick]"}}
    nothing_selected = "no case selected in this run expects it"
    assert coverage.unjudged_anywhere() == {"getNickname": {0: nothing_selected, 7001: "add [nick]"}}
    verdict = verdict_of(run_())
    assert verdict.exit_status(pytest.ExitCode.OK, SETTINGS, coverage) == EXIT_CANNOT_JUDGE
    assert verdict.reason.startswith("a partial judgement: ") and "; 7001 not judged for want of data" in verdict.reason
    settings = SimpleNamespace(**{**vars(SETTINGS), "require_all_codes": True})
    strict = verdict_of(run_())
    strict.exit_status(pytest.ExitCode.OK, settings, coverage)
    assert strict.reason == f"--require-all-codes: {coverage.judged_line()}; getNickname: {part.judged_line()}"
    allowed = verdict_of(run_())
    allowed.exit_status(pytest.ExitCode.OK, SimpleNamespace(**{**vars(SETTINGS), "allow_partial": True}), coverage)
    assert verdict_line(allowed, coverage, Secrets()) == (
        f"HOLDS (exit 0), partial, on what was judged: judged {len(EXERCISABLE)} of {len(EXERCISABLE)} exercisable "
        "documented codes; getNickname: judged 0 of 2; not judged: 0, 7001 (see above; accepted by --allow-partial)"
    )


# -- transport: the bounds and the proxy variables --------------------------------------------------------------


def test_a_closed_transport_sends_nothing_and_keeps_its_first_reason():
    transport = Transport(Limits(timeout=1), Tls())
    transport.close("first")
    transport.close("second")
    with pytest.raises(TransportClosed, match="^first$"):
        transport.wait_turn()
    assert transport.sent == 0


@pytest.mark.parametrize("cap", [0, 2])
def test_the_cap_counts_every_request(cap):
    transport = Transport(Limits(timeout=1, cap=cap), Tls())
    for _ in range(cap):
        transport.wait_turn()
    assert transport.sent == cap
    with pytest.raises(RequestCapReached, match=rf"^the run's request cap \({cap}\) for this target is spent"):
        transport.wait_turn()
    assert transport.sent == cap
    unlimited = Transport(Limits(timeout=1), Tls())
    for _ in range(3):
        unlimited.wait_turn()
    assert unlimited.sent == 3


class FakeClock:
    """time.monotonic and time.sleep for the transport: sleeps are recorded and pass at once (no timed test)."""

    def __init__(self) -> None:
        self.now_seconds = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now_seconds

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.slept.append(round(seconds, 6))
        self.now_seconds += seconds


def test_the_rate_spaces_the_requests(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(transport_module.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(transport_module.time, "sleep", clock.sleep)
    limited = Transport(Limits(timeout=1, rate=10), Tls())
    for _ in range(3):
        limited.wait_turn()
    assert clock.slept == [0.1, 0.1]  # two gaps of 1/10 s
    clock.now_seconds += 0.15
    limited.wait_turn()  # its turn came 0.05 s ago: no wait (and no negative sleep)
    assert clock.slept == [0.1, 0.1] and limited.sent == 4
    free = Transport(Limits(timeout=1), Tls())
    for _ in range(20):
        free.wait_turn()
    assert clock.slept == [0.1, 0.1] and free.sent == 20


def test_slowing_down_halves_the_rate_down_to_the_floor():
    transport = Transport(Limits(timeout=1), Tls())
    assert transport.slow_down(start=10, floor=2) == 10 and transport.rate == 10
    assert transport.slow_down(start=10, floor=2) == 5
    assert transport.slow_down(start=10, floor=4) == 4
    limited = Transport(Limits(timeout=1, rate=8), Tls())
    assert limited.slow_down(start=100, floor=1) == 4


def test_only_a_lost_answer_to_a_sent_request_is_lost():
    assert [
        kind
        for kind in ("timeout", "reset", "protocol", "connect", "tls", "local")
        if NoAnswer(kind, "", sent=True).lost_answer
    ] == ["timeout", "reset", "protocol"]
    assert not NoAnswer("timeout", "", sent=False).lost_answer


def test_an_unencoded_body_is_cut_one_byte_past_the_room():
    decoder = _Decoder(None, 10)
    assert decoder.zlib is None and decoder.encoding == ""
    assert decoder.feed(b"abcdef", 2) == b"abc"
    assert _Decoder("br", 10).feed(b"abcdef", 9) == b"abcdef"  # an encoding it does not undo: kept as it is


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        pytest.param(" GZIP ", gzip.compress, id="gzip"),
        pytest.param("x-gzip", gzip.compress, id="x-gzip"),
        pytest.param("Deflate", zlib.compress, id="deflate"),
        pytest.param("deflate", lambda data: zlib.compress(data)[2:-4], id="raw-deflate"),
    ],
)
def test_an_encoded_body_is_decoded_no_further_than_the_room(encoding, compress):
    data = bytes(range(256)) * 40
    assert _Decoder(encoding, 100_000).feed(compress(data), 100_000) == data
    assert _Decoder(encoding, 100).feed(compress(data), 99) == data[:100]


def test_gzip_is_decoded_with_its_whole_window():
    """gzip's 32 KiB window: a repeat 20 KB back decodes (a smaller window fails on it)."""
    data = random.Random(5).randbytes(20_000) * 2
    assert _Decoder("gzip", 100_000).feed(gzip.compress(data), 100_000) == data


class _Chunks:
    """A response whose body arrives in the given chunks."""

    def __init__(self, *chunks: bytes):
        self.chunks = list(chunks)

    def getheader(self, name):
        return None

    def read1(self, size):
        return self.chunks.pop(0) if self.chunks else b""


def test_each_chunk_is_decoded_no_further_than_the_room_left(monkeypatch):
    rooms = []
    feed = _Decoder.feed
    monkeypatch.setattr(_Decoder, "feed", lambda self, data, room: rooms.append(room) or feed(self, data, room))
    answer = Answer(Request("PUT", "http://target.test/"))
    transport = Transport(Limits(timeout=5, max_body_bytes=100), Tls())
    transport._read_body(_Chunks(b"a" * 60, b"b" * 60), answer, time.monotonic() + 5, threading.Event())
    assert rooms == [100, 40] and answer.truncated and answer.body == b"a" * 60 + b"b" * 40


def test_a_body_that_does_not_decode_is_an_error():
    with pytest.raises(zlib.error):
        _Decoder("gzip", 100).feed(b"not gzip at all", 100)
    decoder = _Decoder("deflate", 100)
    with pytest.raises(zlib.error):
        decoder.feed(b"\xff\xff\xff\xff not deflate", 100)
    assert decoder.raw_deflate_tried


def _serving(body: bytes, *headers: str):
    def behaviour(conn, seen, server) -> None:
        head = ["Content-Type: application/json", f"Content-Length: {len(body)}", "Connection: close", *headers]
        conn.sendall(hostile._head("200 OK", *head) + body)

    return behaviour


@pytest.mark.parametrize(
    ("size", "truncated"), [pytest.param(100, False, id="at-the-cap"), pytest.param(101, True, id="past-the-cap")]
)
def test_the_body_cap_holds_to_the_byte(size, truncated):
    with hostile.HostileServer(_serving(b"x" * size)) as server:
        answer = Transport(Limits(timeout=5, max_body_bytes=100), Tls()).send(Request("PUT", f"{server.base_url}/"))
    assert answer.failure is None and answer.status == 200
    assert answer.truncated is truncated and answer.body == b"x" * min(size, 100)


def test_the_body_cap_counts_the_bytes_on_the_wire_too():
    data = random.Random(23).randbytes(1024)
    body = gzip.compress(data)  # incompressible: more bytes on the wire than it decodes to
    assert len(body) > 1030
    with hostile.HostileServer(_serving(body, "Content-Encoding: gzip")) as server:
        answer = Transport(Limits(timeout=5, max_body_bytes=1030), Tls()).send(Request("PUT", f"{server.base_url}/"))
    assert answer.truncated and answer.body == data


def test_a_body_that_does_not_decode_is_a_malformed_answer():
    with hostile.HostileServer(_serving(b"not gzip", "Content-Encoding: gzip")) as server:
        answer = Transport(Limits(timeout=5), Tls()).send(Request("PUT", f"{server.base_url}/"))
    assert answer.failure.kind == "protocol" and "the body does not decode as gzip" in answer.failure.detail


def test_a_dripping_body_times_out_at_the_deadline():
    with hostile.HostileServer(hostile.drip) as server:
        started = time.monotonic()
        answer = Transport(Limits(timeout=0.5), Tls()).send(Request("PUT", f"{server.base_url}/"))
    assert answer.failure == NoAnswer("timeout", "timed out after 0.5 s", sent=True)
    assert time.monotonic() - started < 5  # bounded by the deadline, not by the drip (which would take minutes)


def test_the_proxy_variables_are_read_as_curl_reads_them():
    assert Proxies.from_environment({}) == Proxies()
    proxies = Proxies.from_environment(
        {"http_proxy": "low:1", "HTTP_PROXY": "up:2", "ALL_PROXY": "all:3", "no_proxy": "direct.test", "NO_PROXY": "x"}
    )
    assert proxies.by_scheme["http"].where == "low:1" and proxies.by_scheme["http"].source == "http_proxy"
    assert proxies.by_scheme["https"].where == "all:3" and proxies.by_scheme["https"].source == "ALL_PROXY"
    assert proxies.no_proxy == "direct.test"
    upper = Proxies.from_environment({"HTTP_PROXY": "up:2", "http_proxy": "", "NO_PROXY": "x.test"})
    assert upper.by_scheme["http"].source == "HTTP_PROXY" and "https" not in upper.by_scheme
    assert upper.no_proxy == "x.test"
    assert proxies.for_target(urlsplit("http://target.test/p")).where == "low:1"
    assert proxies.for_target(urlsplit("http://direct.test/p")) is None
    assert proxies.for_target(urlsplit("http://user:pw@direct.test:8080/p")) is None
    assert proxies.for_target(urlsplit("ftp://target.test/p")) is None
    assert proxies.for_target(urlsplit("http:///p")) is None
    assert Proxies.from_environment({"HTTP_PROXY": "up:2"}).for_target(urlsplit("http://direct.test/")).where == "up:2"


def test_a_proxy_url_is_checked_and_its_credentials_kept_apart():
    plain = Proxies.from_environment({"HTTP_PROXY": "http://proxy.test"}).by_scheme["http"]
    assert (plain.host, plain.port, plain.authorization, plain.password) == ("proxy.test", 80, None, None)
    both = Proxies.from_environment({"HTTP_PROXY": "http://us%40er:p%3Ass@proxy.test:3128"})
    proxy = both.by_scheme["http"]
    assert proxy.password == "p:ss" and proxy.authorization == "Basic dXNAZXI6cDpzcw=="  # us@er:p:ss
    assert both.secrets() == ["Basic dXNAZXI6cDpzcw==", "p:ss"]
    user_only = Proxies.from_environment({"HTTP_PROXY": "http://user@proxy.test:3128"}).by_scheme["http"]
    assert user_only.password is None and user_only.authorization == "Basic dXNlcjo="  # user:
    assert Proxies.from_environment({"HTTP_PROXY": "http://proxy.test"}).secrets() == []
    for value, words in [
        ("https://proxy.test", "HTTP_PROXY names a https:// proxy; the suite speaks to http:// proxies only"),
        ("http://proxy.test:99999", "HTTP_PROXY has a port that is not a number from 0 to 65535"),
        ("http://:3128", "HTTP_PROXY names no proxy host"),
    ]:
        with pytest.raises(ProxyError) as raised:
            Proxies.from_environment({"HTTP_PROXY": value})
        assert str(raised.value) == words


# -- account: whose number a request names, whether it could move the account, where the account is --------------

TOKEN = "Bearer valid-7e1d"
ACCOUNT = Phone("86", "13800000001")
FREE = Phone("86", "13800000002")
ELSEWHERE = Phone("86", "13800000009")


class FakeTarget:
    """Answers the suite's question "from a number to itself" as a target whose account holds `holds`; `success`
    lists the numbers it (wrongly) answers success for, `silent` those it answers with no whole answer."""

    def __init__(self, holds: Phone | None, success=(), silent=()):
        self.holds, self.success, self.silent = holds, set(success), set(silent)
        self.asked: list[Phone] = []
        self.consumed_phones: list[Phone] = []
        self.secrets = Secrets()
        self.token_header = CONTRACT.token_header
        self.contract = CONTRACT
        self.settings = SimpleNamespace(profile=SimpleNamespace(account=ACCOUNT))
        self.tokens = {"valid": TOKEN}  # the run's tokens (the keeper reads the valid one)
        self.refusals = None  # as the environment check: no code source re-fetches refused codes

    def request(self, params, token):
        return Request.build(CONTRACT.method, "http://target.test" + CONTRACT.path, params, {self.token_header: token})

    def send(self, request, retry_refusals=True):
        params = dict(pair.split("=", 1) for pair in urlsplit(request.url).query.split("&"))
        phone = AccountKeeper(self, self, self).phone_in(params, "old")
        self.asked.append(phone)
        if phone in self.silent:
            return Answer(request, failure=NoAnswer("reset", "closed", sent=True))
        code = NEW_PHONE_REGISTERED if phone == self.holds else OLD_PHONE_INCORRECT
        code = SUCCESS if phone in self.success else code
        return Answer(request, status=200, body=json.dumps({"code": code, "msg": "m", "data": None}).encode())

    # the code source
    def code_for_probe(self, phone):
        return "123456"

    def consumed(self, *phones):
        self.consumed_phones += phones


def keeper(target: FakeTarget) -> AccountKeeper:
    return AccountKeeper(target, target, target)


def params(old: Phone, new: Phone) -> dict[str, str]:
    return CONTRACT.change_params(old, "1", new, "2")


def test_the_phone_a_request_names_needs_both_parts():
    keeps = keeper(FakeTarget(ACCOUNT))
    assert keeps.phone_in(params(ACCOUNT, FREE), "old") == ACCOUNT
    assert keeps.phone_in(params(ACCOUNT, FREE), "new") == FREE
    for part in ("international_code", "phone"):
        without = params(ACCOUNT, FREE)
        without[CONTRACT.parameter_with_role(f"new.{part}").name] = ""
        assert keeps.phone_in(without, "new") is None
        del without[CONTRACT.parameter_with_role(f"new.{part}").name]
        assert keeps.phone_in(without, "new") is None


def test_only_the_valid_token_from_the_account_to_another_number_could_move_it():
    target = FakeTarget(ACCOUNT)
    keeps = keeper(target)

    def could(old, new, token=TOKEN):
        query = params(old, new)
        return bool(keeps.could_move(target.request(query, token), query))

    assert could(ACCOUNT, FREE)
    assert could(ACCOUNT, Phone("86", " x "))  # a number of any shape
    assert not could(ACCOUNT, FREE, token="Bearer other")
    assert not could(FREE, ELSEWHERE)
    assert not could(ACCOUNT, ACCOUNT)
    assert not could(ACCOUNT, Phone("86", "  "))
    assert not could(ACCOUNT, Phone("", "13800000002"))
    keeps.question_failed = True
    assert not could(ACCOUNT, FREE)
    target.tokens = {}
    assert not keeper(target).could_move(target.request(params(ACCOUNT, FREE), TOKEN), params(ACCOUNT, FREE))
    target.tokens = {"valid": TOKEN}
    target.settings.profile = SimpleNamespace(account=None)
    assert not keeper(target).could_move(target.request(params(ACCOUNT, FREE), TOKEN), params(ACCOUNT, FREE))
    no_old_phone = {
        k: v for k, v in params(ACCOUNT, FREE).items() if k != CONTRACT.parameter_with_role("old.phone").name
    }
    assert not keeper(target).could_move(target.request(no_old_phone, TOKEN), no_old_phone)  # no account: nothing


def test_asking_reads_registered_as_held_and_incorrect_as_not():
    keeps = keeper(FakeTarget(ACCOUNT, silent=[ELSEWHERE]))
    assert keeps.ask(ACCOUNT)[0] is True and keeps.ask(ACCOUNT)[2] is None
    assert keeps.ask(FREE)[0] is False and keeps.ask(FREE)[2] is None
    holds, answer, wrong = keeps.ask(ELSEWHERE)
    assert holds is None and answer.failure is not None and wrong is None
    other = FakeTarget(ACCOUNT)
    other.send = lambda request: Answer(request, status=200, body=json.dumps({"code": UNDOCUMENTED_CODE}).encode())
    refused = keeper(other)
    assert refused.ask(ACCOUNT)[::2] == (None, None) and not refused.question_failed  # neither answer: no answer


def test_a_question_answered_with_success_fails_once_and_spends_the_codes():
    target = FakeTarget(ACCOUNT, success=[FREE])
    keeps = keeper(target)
    holds, _, wrong = keeps.ask(FREE)
    assert holds is None and keeps.question_failed and target.consumed_phones == [FREE]
    assert set(wrong.expected_codes) == {NEW_PHONE_REGISTERED, OLD_PHONE_INCORRECT}
    assert wrong.rule.startswith(f"asked where the test account is: {FREE} as both original and new phone")
    assert keeps.ask(FREE)[2] is None  # reported once


def test_the_account_is_located_asking_its_own_number_first():
    target = FakeTarget(FREE)
    found = keeper(target).locate([FREE, ELSEWHERE])
    assert found.holds == FREE and found.asked == [ACCOUNT, FREE] and found.denied == [ACCOUNT] and found.wrong == []
    assert target.asked == [ACCOUNT, FREE]  # it stops at the number the account holds


def test_locating_skips_repeats_nothing_and_unprintable_numbers():
    target = FakeTarget(None, success=[ELSEWHERE], silent=[FREE])
    found = keeper(target).locate([None, ACCOUNT, Phone("86", "138\n0"), FREE, ELSEWHERE])
    assert found.holds is None and found.asked == [ACCOUNT, FREE, ELSEWHERE] and found.denied == [ACCOUNT]
    assert len(found.wrong) == 1 and target.asked == [ACCOUNT, FREE, ELSEWHERE]
    held = keeper(FakeTarget(ACCOUNT)).locate([FREE])
    assert held.holds == ACCOUNT and held.asked == [ACCOUNT] and held.denied == []
