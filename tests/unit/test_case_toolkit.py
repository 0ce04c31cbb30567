"""Unit tests of contract_suite/engine/case_toolkit.py: the test data a case asks for (a skip naming the profile key
when it is missing), one-fault requests, sending (a lost answer cannot be judged) and judging (a wrong answer fails
the case, recorded in its evidence), and one change sent several times at once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from contract_suite.engine.case_toolkit import ABSENT, WRONG_CODES, CaseToolkit
from contract_suite.engine.evidence import CaseEvidence
from contract_suite.engine.refused_codes import RefusedCodes
from contract_suite.http.transport import RequestCapReached
from contract_suite.outcomes import CannotJudge, CaseFailed, NotApplicable, NotJudged
from contract_suite.target_data.profile import Phone, Profile
from contract_suite.target_data.sms_codes import CodeSource
from tests.support.engine_fakes import ACCOUNT, CONTRACT, FREE, TOKEN, ScriptedSender, answer, fake_run, lost

pytestmark = pytest.mark.selftest

SUCCESS = CONTRACT.success_code
INCORRECT = CONTRACT.code_named("old-phone-incorrect")
REGISTERED = CONTRACT.code_named("new-phone-registered")
CODES = {ACCOUNT.key: "482913", FREE.key: "573024"}
NAME = {p.role: p.name for p in CONTRACT.parameters}


class Platform(ScriptedSender):
    """A target whose account holds ACCOUNT; a change is answered with `code` (or lost)."""

    def __init__(self, code=INCORRECT):
        super().__init__(self._reply)
        self.code = code

    def _reply(self, request):
        old, new = request.side("old").phone, request.side("new").phone
        if old is not None and old == new:  # the keeper's question: where is the account?
            return answer(request, REGISTERED if old == ACCOUNT else INCORRECT)
        return lost(request) if self.code is None else answer(request, self.code)


class CapSpent(Platform):
    def send(self, request):
        raise RequestCapReached("spent")


def toolkit(platform=None, reusable=True, **settings):
    profile = Profile(account=ACCOUNT, phones={"free": FREE}, static_codes=dict(CODES), codes_reusable=reusable)
    run = fake_run(profile=profile, **settings)
    run.codes = CodeSource(profile, run.secrets, {})
    run.ledger.case = CaseEvidence("case", CONTRACT.label)
    platform = platform or Platform()
    return CaseToolkit(run, SimpleNamespace(top=RefusedCodes(run, platform), network=platform)), platform


def test_missing_test_data_skips_naming_the_profile_key():
    kit, _ = toolkit()
    with pytest.raises(NotJudged, match=r"add \[tokens\] orphan to the profile") as skipped:
        kit.token("orphan")
    assert skipped.value.needs == "[tokens] orphan"
    with pytest.raises(NotJudged, match=r"add \[phones\] registered") as skipped:
        kit.phone("registered")
    assert skipped.value.needs == "[phones] registered"
    kit.profile.account = None
    with pytest.raises(NotJudged, match=r"add \[account\]"):
        kit.phone("account")
    assert kit.token("valid") == TOKEN and kit.phone("free") == FREE


def test_a_change_carries_valid_codes_and_the_overrides_by_role():
    kit, platform = toolkit()
    values = kit.change(ACCOUNT, FREE, new__code="999999", new__phone=ABSENT)
    assert values[NAME["old.code"]] == "482913" and values[NAME["new.code"]] == "999999"
    assert values[NAME["new.phone"]] is ABSENT
    assert platform.sent[0].side("old").phone == ACCOUNT  # the account asked after, before its first use


def test_a_wrong_code_is_never_the_valid_one():
    kit, _ = toolkit()
    kit.codes.profile.static_codes[FREE.key] = WRONG_CODES[0]
    assert kit.wrong_code(FREE) == WRONG_CODES[1] and kit.wrong_code(ACCOUNT) == WRONG_CODES[0]


def test_a_call_leaves_absent_values_out_and_returns_the_endpoints_answer():
    kit, platform = toolkit()
    values = kit.change(ACCOUNT, FREE)
    values[NAME["new.code"]] = ABSENT
    got = kit.call(values, TOKEN)
    assert got.code == INCORRECT and NAME["new.code"] not in got.request.values and got.request.token == TOKEN
    assert not got.request.changes_account


def test_a_lost_answer_cannot_be_judged_and_a_spent_cap_is_not_judged():
    kit, platform = toolkit()
    values = kit.change(ACCOUNT, FREE)
    platform.code = None
    with pytest.raises(CannotJudge, match="cannot judge this case: closed"):
        kit.call(values, TOKEN)
    kit, _ = toolkit(CapSpent())
    with pytest.raises(NotJudged, match="not judged: spent") as skipped:
        kit.call(values, TOKEN)
    assert skipped.value.needs == "a higher --max-requests"


def test_a_wrong_answer_fails_the_case_and_is_recorded_in_its_evidence():
    kit, _ = toolkit(Platform(code=REGISTERED))
    got = kit.call(kit.change(ACCOUNT, FREE), TOKEN)
    kit.expect(got, REGISTERED, "new phone registered")
    assert kit.coverage.exercised_codes == {REGISTERED} and kit.run.ledger.case.rules == ["new phone registered"]
    with pytest.raises(CaseFailed) as failed:
        kit.expect(got, INCORRECT, "rule")
    assert failed.value.failures == kit.run.ledger.case.failures and failed.value.failures[0].rule == "rule"
    kit.check(got, {SUCCESS}, "no code in particular", counts_as_judged=False)
    assert SUCCESS not in kit.coverage.exercised_codes


def test_what_the_user_left_out_or_the_target_makes_moot_is_not_applicable():
    kit, _ = toolkit(allow_destructive=False)
    with pytest.raises(NotApplicable, match="pass --allow-destructive to run it"):
        kit.require_destructive()
    with pytest.raises(NotApplicable, match="reusable = true"):
        kit.newer_code(ACCOUNT)
    kit, _ = toolkit(reusable=False)
    with pytest.raises(NotJudged, match="needs a newer SMS code") as skipped:
        kit.newer_code(ACCOUNT)
    assert skipped.value.needs == "a [codes] command"
    with pytest.raises(NotJudged, match=r"add \[codes\] command"):
        kit.require_fresh_codes()


def test_the_same_digits_elsewhere_are_another_number():
    kit, _ = toolkit()
    assert kit.elsewhere(Phone("86", "138")) == Phone("852", "138")
    assert kit.elsewhere(Phone("852", "138")) == Phone("86", "138")


def test_a_change_sent_at_once_is_one_burst_judged_as_one():
    platform = Platform(code=SUCCESS)
    kit, _ = toolkit(platform)
    answers = kit.call_at_once(kit.change(ACCOUNT, FREE), TOKEN, 2)
    assert platform.bursts == [2] and all(a.request.changes_account for a in answers)
    found = kit.check_at_once(answers, {INCORRECT}, "one pair of codes changes the phone once")
    assert found and found[0].actual.startswith("2 of 2 succeeded") and kit.run.ledger.case.failures == found
