"""Unit tests of contract_suite/reporting/coverage_table.py: the coverage tally in words (the terminal's table, the
judged line, the JSON), and what the tally says of each code."""

from __future__ import annotations

import json

import pytest

from contract_suite.engine.coverage import Coverage
from contract_suite.openapi import spec
from contract_suite.reporting import coverage_table
from contract_suite.secrets import Secrets
from tests.support.operations import OTHER

pytestmark = pytest.mark.selftest

CONTRACT = spec.load(spec.DEFAULT_SPEC)
EXERCISABLE = sorted(c for c, entry in CONTRACT.codes.items() if entry.exercisable)
NOT_EXERCISABLE = sorted(c for c, entry in CONTRACT.codes.items() if not entry.exercisable)
OLD_PHONE_INCORRECT = CONTRACT.code_named("old-phone-incorrect")


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
    table = coverage_table.table(coverage)
    assert table[0] == f"{'code':>5}  {'name':<32} {'status':<20} {'answers':>7}  detail"
    assert f"{first:>5}  {CONTRACT.codes[first].name:<32} {'seen':<20} {2:>7}" == table[1 + sorted(rows).index(first)]
    assert f"99999  {'(undocumented)':<32} {'seen':<20} {1:>7}  not in the spec's x-business-codes" in table
    coverage.note("b note")
    coverage.note("a note")
    assert coverage_table.table(coverage)[-2:] == ["not applicable: a note", "not applicable: b note"]


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
    assert coverage_table.judged_line(coverage) == (
        f"judged {len(EXERCISABLE) - 3} of {len(EXERCISABLE)} exercisable documented codes; not judged: "
        f"{EXERCISABLE[0]}, {EXERCISABLE[1]} (add [codes]); {EXERCISABLE[2]} (no case selected in this run expects it)"
    )
    assert coverage.unjudged_for_want() == {CONTRACT.label: {c: "add [codes]" for c in EXERCISABLE[:2]}}
    assert set(coverage.unjudged_anywhere()[CONTRACT.label]) == set(EXERCISABLE[:3])
    coverage.exercised(EXERCISABLE[:3])
    assert coverage.unjudged_anywhere() == {} and coverage.unjudged_for_want() == {}
    assert (
        coverage_table.judged_line(coverage)
        == f"judged {len(EXERCISABLE)} of {len(EXERCISABLE)} exercisable documented codes"
    )


def test_the_json_names_every_operation_and_is_masked(tmp_path):
    coverage = Coverage(CONTRACT, [OTHER])
    coverage.exercised(EXERCISABLE)
    coverage.saw(99999)
    coverage.note("681193 reusable")
    coverage.exercised([7001], OTHER)
    data = coverage_table.as_json(coverage)
    assert data["spec"] == str(CONTRACT.spec_path) and data["spec_version"] == CONTRACT.version
    assert data["judged"] == EXERCISABLE and data["not_judged"] == {} and data["undocumented_seen"] == {"99999": 1}
    other = data["operations"]["getNickname"]
    assert other["judged"] == [7001] and "operations" not in other
    assert "operations" not in coverage_table.as_json(Coverage(CONTRACT))
    secrets = Secrets()
    secrets.add("681193", "sms-code")
    path = tmp_path / "deeper" / "still" / "coverage.json"
    coverage_table.write_json(coverage, path, secrets.mask)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["notes"] == ["<sms-code> reusable"] and written["codes"] == data["codes"]
    coverage.note("验证码 681193")  # written as it reads (and masked: an escaped \uXXXX form would hide a secret)
    coverage_table.write_json(coverage, tmp_path / "coverage.json", secrets.mask)  # into a folder that exists
    text = (tmp_path / "coverage.json").read_text(encoding="utf-8")
    assert '"验证码 <sms-code>"' in text and text.startswith('{\n  "spec": ') and text.endswith("}\n")
