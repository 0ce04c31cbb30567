"""Unit tests of contract_suite/engine/coverage.py: the documented-code coverage tally (its words:
tests/unit/test_coverage_table.py)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from contract_suite.engine.coverage import Coverage
from contract_suite.openapi import spec
from tests.support.operations import OTHER

pytestmark = pytest.mark.selftest

CONTRACT = spec.load(spec.DEFAULT_SPEC)
EXERCISABLE = sorted(c for c, entry in CONTRACT.codes.items() if entry.exercisable)
NOT_EXERCISABLE = sorted(c for c, entry in CONTRACT.codes.items() if not entry.exercisable)
SUCCESS = CONTRACT.success_code
OLD_PHONE_INCORRECT = CONTRACT.code_named("old-phone-incorrect")


# -- coverage --------------------------------------------------------------------------------------------------

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
    assert (
        merged.rows() == worker.rows()
        and merged.operations["getNickname"].rows() == worker.operations["getNickname"].rows()
    )


def test_a_skip_is_for_want_of_data_only_when_said_and_what_it_needs_is_kept():
    coverage = Coverage(CONTRACT, [OTHER])
    coverage.skip([EXERCISABLE[0]], "deselected")
    coverage.skip([EXERCISABLE[1]], "add [codes]", lacking=True)
    coverage.skip([EXERCISABLE[2]], "add [phones]", lacking=True, needs="[phones] free")
    coverage.skip([7001], "add [nick]", OTHER, lacking=True, needs="[nick] appId")
    assert coverage.lacking == {EXERCISABLE[1], EXERCISABLE[2]} and dict(coverage.needs) == {
        EXERCISABLE[2]: {"[phones] free"}
    }
    assert coverage.needed_for_want() == ["[nick] appId", "[phones] free"]
    merged = Coverage(CONTRACT, [OTHER])
    merged.merge(json.loads(json.dumps(coverage.state())))
    assert merged.needed_for_want() == coverage.needed_for_want()


@pytest.mark.parametrize(
    ("outcomes", "status", "detail"),
    [
        ([("held", "")], "judged", "holds"),
        ([("held", ""), ("broken", "")], "judged", "broken (see the failed case)"),
        (
            [("held", ""), ("skipped", "no codes"), ("cannot judge", "lost")],
            "judged",
            "holds; partly cannot judge: lost; partly skipped: no codes",
        ),
        ([("cannot judge", "b"), ("cannot judge", "a"), ("skipped", "x")], "not judged", "a; b"),
        ([("cannot judge", "")], "not judged", "its case could not be judged"),
        ([("skipped", "pass --allow-destructive")], "skipped", "pass --allow-destructive"),
        ([], "not run", "no case selected in this run judges it"),
    ],
)
def test_each_rule_of_state_says_what_its_cases_did(outcomes, status, detail):
    coverage = Coverage(CONTRACT, rules={"one-rule": "a sentence"})
    for outcome, why in outcomes:
        coverage.rule_outcome("one-rule", outcome, why)
    merged = Coverage(CONTRACT, rules={"one-rule": "a sentence"})
    merged.merge(json.loads(json.dumps(coverage.state())))
    for table in (coverage, merged):
        assert table.rule_rows() == [{"name": "one-rule", "rule": "a sentence", "status": status, "detail": detail}]


def test_an_unknown_outcome_of_a_rule_is_refused():
    with pytest.raises(ValueError, match="unknown outcome of a rule: 'passed'"):
        Coverage(CONTRACT).rule_outcome("one-rule", "passed")
