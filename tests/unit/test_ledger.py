"""Unit tests of contract_suite/engine/ledger.py: what a case records, the suspects of a failed case, the crossing
from an xdist worker as plain data, and the workers' ledgers merged."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import pytest

from contract_suite.engine.evidence import SOMEONE_ELSE, SOURCE, STATIC, CaseEvidence, Failure, Suspect
from contract_suite.engine.ledger import CodeRecord, GatewayRecord, Ledger, StaticCodeRecord, merged

pytestmark = pytest.mark.selftest


def test_a_case_records_its_rules_and_each_failure_once():
    ledger = Ledger()
    ledger.note_rule("nobody listens")
    ledger.failed(Failure("x"))  # no case running: nothing kept
    ledger.case = CaseEvidence("a", "setPhone")
    ledger.note_rule("rule")
    ledger.failed(Failure("x"), Failure("y"))
    ledger.failed(Failure("x"))
    assert ledger.case.rules == ["rule"] and [f.rule for f in ledger.case.failures] == ["x", "y"]


def test_only_a_case_whose_every_failure_hinges_on_a_suspect_is_a_suspects_case():
    ledger = Ledger()
    hinging = CaseEvidence("a", "setPhone", failures=[Failure("x", suspect=Suspect(SOURCE, "86-1"))])
    hinging.failures.append(Failure("y", suspect=SOMEONE_ELSE))
    ledger.case_failed("a", hinging)
    ledger.case_failed(
        "b", CaseEvidence("b", "setPhone", failures=[Failure("x", suspect=Suspect(SOURCE, "86-1")), Failure("z")])
    )
    ledger.case_failed("c", CaseEvidence("c", "setPhone"))
    assert ledger.suspects == {"a": frozenset({Suspect(SOURCE, "86-1"), SOMEONE_ELSE})}
    assert ledger.failed_codes == {"a": (), "b": (), "c": ()}
    ledger.case_failed("d", CaseEvidence("d", "setPhone", codes=(5174,)))
    assert ledger.failed_codes["d"] == (5174,)


def full() -> Ledger:
    return Ledger(
        base_url="http://target.test",
        stopped="why",
        sent=7,
        cap_reached=True,
        answers=6,
        envelopes=5,
        tokens_fetched=1,
        account_moved_by_someone_else=True,
        codes=CodeRecord(
            source="function",
            asked=4,
            asked_by_number={"86-1": 3, "86-2": 1},
            budget=10,
            past_budget=1,
            budget_stopped=2,
            throttled=1,
            waited=2.5,
            refused=3,
            refetched=2,
            codes_go_stale=True,
            source_accepted=True,
            voided_between_fetch_and_use=1,
            unreproduced=1,
            one_code_cannot_pass_two_checks=True,
            unexplained_refusals=1,
            static={
                "86-2": StaticCodeRecord(
                    times_refused=2, accepted=True, refused_after_accepted=True, passed_by_order=True
                )
            },
        ),
        gateway=GatewayRecord(Counter({429: 2}), 3.0, Counter({414: 1}), 5.0),
        suspects={"a": frozenset({Suspect(STATIC, "86-2"), SOMEONE_ELSE})},
        failed_codes={"a": (5168, 5169), "b": ()},
    )


def test_a_ledger_crosses_as_plain_data_and_comes_back_the_same():
    data = full().as_data()
    assert json.loads(json.dumps(data)) == data  # plain data: it crosses from a worker
    assert Ledger.from_data(json.loads(json.dumps(data))) == full()


def test_the_workers_ledgers_merge_counts_flags_and_the_first_stop():
    second = Ledger(
        base_url="http://target.test",
        sent=3,
        answers=2,
        codes=CodeRecord(source="function", asked=1, asked_by_number={"86-1": 1}, throttled=2, waited=1.0),
    )
    second.codes.static["86-2"] = StaticCodeRecord(times_refused=1)
    second.gateway.refusals[503] += 1
    second.suspects["b"] = frozenset({Suspect(SOURCE, "86-1")})
    total = merged([full(), second, Ledger(stopped="later")])
    assert (total.sent, total.answers, total.envelopes, total.stopped) == (10, 8, 5, "why")
    assert total.codes.asked == 5 and total.codes.static["86-2"].times_refused == 3
    assert total.codes.asked_by_number == {"86-1": 4, "86-2": 1} and total.codes.budget == 10
    assert (total.codes.throttled, total.codes.waited, total.codes.past_budget) == (3, 3.5, 1)
    assert (total.codes.budget_stopped, total.codes.unexplained_refusals) == (2, 1)
    assert total.codes.one_code_cannot_pass_two_checks
    assert total.codes.static["86-2"].accepted and total.codes.codes_go_stale and total.account_moved_by_someone_else
    assert total.gateway.refusals == {429: 2, 503: 1} and total.gateway.slowed_to == 5.0
    assert set(total.suspects) == {"a", "b"} and total.cap_reached and total.base_url == "http://target.test"
    assert merged([]).base_url == ""


def test_a_new_ledger_has_seen_nothing_and_its_running_case_is_no_part_of_what_it_says():
    assert dataclasses.asdict(Ledger()) == {
        "base_url": "",
        "stopped": None,
        "sent": 0,
        "cap_reached": False,
        "answers": 0,
        "envelopes": 0,
        "tokens_fetched": 0,
        "account_moved_by_someone_else": False,
        "codes": {
            "source": "command",
            "asked": 0,
            "asked_by_number": {},
            "budget": None,
            "past_budget": 0,
            "budget_stopped": 0,
            "throttled": 0,
            "waited": 0.0,
            "refused": 0,
            "refetched": 0,
            "codes_go_stale": False,
            "source_accepted": False,
            "voided_between_fetch_and_use": 0,
            "unreproduced": 0,
            "one_code_cannot_pass_two_checks": False,
            "unexplained_refusals": 0,
            "static": {},
        },
        "gateway": {"refusals": Counter(), "waited": 0.0, "too_large": Counter(), "slowed_to": None},
        "failed_codes": {},
        "suspects": {},
        "case": None,
    }
    assert dataclasses.asdict(StaticCodeRecord()) == {
        "times_refused": 0,
        "accepted": False,
        "refused_after_accepted": False,
        "passed_by_order": False,
    }
    assert Ledger(case=CaseEvidence("a", "setPhone")) == Ledger()
