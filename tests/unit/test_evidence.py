"""Unit tests of contract_suite/engine/evidence.py: a failure as the terminal shows it, and what a check raises."""

from __future__ import annotations

import dataclasses

import pytest

from contract_suite.engine.evidence import (
    ACCOUNT,
    EXCHANGES_KEPT,
    SOMEONE_ELSE,
    SOURCE,
    CaseEvidence,
    CheckFailed,
    Failure,
    Suspect,
    failures_text,
)

pytestmark = pytest.mark.selftest


def test_a_failure_shows_each_field_it_has_in_order():
    failure = Failure("rule", "expected", "actual", "curl x", "(masked: set A)", ("more",), check="a_check")
    assert failure.text() == (
        "rule\n  check:    a_check\n  expected: expected\n  actual:   actual\n  reproduce: curl x\n  (masked: set A)\n"
        "  more"
    )
    assert Failure("only the rule").text() == "only the rule"


def test_more_lines_are_added_after_and_empty_ones_left_out():
    failure = Failure("rule").also("one", "", "two")
    assert failure.more == ("one", "two") and Failure("rule").more == ()
    assert failures_text([Failure("a"), Failure("b").also("c")]) == "a\nb\n  c"


def test_a_check_raises_its_failure_whole():
    failure = Failure("rule", actual="x")
    raised = CheckFailed(failure)
    assert raised.failure is failure and str(raised) == failure.text() and isinstance(raised, AssertionError)


def test_a_case_keeps_its_last_exchanges_and_starts_judgeable():
    evidence = CaseEvidence("t.py::test", "setPhone")
    for number in range(EXCHANGES_KEPT + 3):
        evidence.exchanges.append(number)
    assert list(evidence.exchanges) == list(range(3, EXCHANGES_KEPT + 3)) and EXCHANGES_KEPT == 8
    assert not evidence.cannot_judge and evidence.rules == [] and evidence.failures == [] and evidence.codes == ()


def test_failures_and_suspects_are_values():
    assert {Suspect(SOURCE, "86-1"), Suspect(SOURCE, "86-1"), SOMEONE_ELSE} == {Suspect(SOURCE, "86-1"), SOMEONE_ELSE}
    for made, name in ((Failure("rule"), "rule"), (SOMEONE_ELSE, "kind")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, name, "x")
    assert Failure("rule").suspect is None and SOMEONE_ELSE == Suspect(ACCOUNT, "")


def test_a_folded_failure_keeps_the_command_lines_whole_and_wraps_the_rest():
    """For a display that does not wrap (Allure): each label's line wrapped to the fold width with its indent kept,
    the curl command as its lines, from the line's start; the terminal's form (the default) is one line each."""
    from contract_suite.engine.evidence import FOLD_WIDTH

    long = "word " * 30
    failure = Failure(
        "the rule " + long,
        expected="5166 " + long,
        actual="5167 " + long,
        check="a_check",
        reproduce="curl -sS -X PUT 'http://t/p?a=1'",
        reproduce_lines=("curl -sS -X PUT \\", '"http://t/p"\\', '"?a=1"'),
        masked="(masked: " + long + ")",
        more=("one more " + long, ""),
    )
    folded = failure.text(folded=True).splitlines()
    assert all(len(line) <= FOLD_WIDTH for line in folded if not line.startswith(('"', "curl")))
    assert folded[0].startswith("the rule word") and folded[1].startswith("  word")  # the rule, wrapped
    at = folded.index("  reproduce:")
    assert folded[at + 1 : at + 4] == ["curl -sS -X PUT \\", '"http://t/p"\\', '"?a=1"']
    for label in ("  check:    a_check", "  expected: 5166 word", "  actual:   5167 word", "  (masked: word"):
        assert any(line.startswith(label) for line in folded), label
    assert any(line.startswith("    word") for line in folded)  # a wrapped line indented under its label
    assert "  one more word" in "\n".join(folded) and "" not in folded[at:]  # an empty "more" line left out
    assert failure.text() == failure.text(folded=False) and "  reproduce: curl -sS -X PUT 'http://t/p?a=1'" in (
        failure.text()
    )
    plain = Failure("rule", reproduce="curl x")  # no folded lines: the one line, wrapped
    assert plain.text(folded=True).splitlines() == ["rule", "  reproduce: curl x"]
