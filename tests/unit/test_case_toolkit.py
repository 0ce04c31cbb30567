"""Unit tests of contract_suite/engine/case_toolkit.py: the test data a case asks for (a skip naming the profile key
when it is missing), one-fault requests, sending (a lost answer cannot be judged) and judging (a wrong answer fails
the case, recorded in its evidence), and one change sent several times at once."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from contract_suite.engine.case_toolkit import ABSENT, WRONG_CODES, CaseToolkit
from contract_suite.engine.evidence import CaseEvidence
from contract_suite.engine.exchange import OperationRequest
from contract_suite.engine.refused_codes import RefusedCodes
from contract_suite.http.transport import RequestCapReached
from contract_suite.openapi import spec
from contract_suite.outcomes import CannotJudge, CaseFailed, NotApplicable, NotJudged
from contract_suite.target_data.profile import Phone, Profile
from contract_suite.target_data.sms_codes import CodeSource, CodeSourceBroken
from tests.support.engine_fakes import ACCOUNT, CONTRACT, FREE, TOKEN, ScriptedSender, answer, fake_run, lost
from tests.support.operations import OTHER

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


def test_only_the_accounts_number_is_asked_after_and_a_held_code_is_not_fetched_again():
    kit, platform = toolkit()
    fetched = []
    code_for = kit.codes.code_for
    kit.codes.code_for = lambda phone: fetched.append(phone) or code_for(phone)
    kit.wrong_code(FREE)
    assert platform.sent == [] and fetched == []  # the free phone's code is held: not fetched, nothing asked
    kit.wrong_code(ACCOUNT)
    assert len(platform.sent) == 1 and platform.sent[0].side("old") == platform.sent[0].side("new")


def test_a_code_the_source_cannot_give_skips_and_a_broken_source_stops_the_run():
    kit, _ = toolkit(reusable=False)
    kit.codes.consumed(FREE)
    with pytest.raises(NotJudged, match="needs an SMS code") as skipped:
        kit.code(FREE)
    assert skipped.value.needs.startswith('[codes] static "86-13800000002"')
    kit.codes.code_for = lambda phone: (_ for _ in ()).throw(CodeSourceBroken("it hung"))
    with pytest.raises(CannotJudge, match="the SMS code source failed: it hung"):
        kit.code(FREE)
    assert kit.run.stopped.startswith("the SMS code source failed: it hung")


def test_another_operations_valid_request_is_its_examples():
    kit, _ = toolkit()
    examples = {"appId": "ref-app", "count": 3}
    params = tuple(spec.Parameter(name, "query", True, 7001, example, "") for name, example in examples.items()) + (
        spec.Parameter("note", "query", False, None, None, ""),
    )
    other = dataclasses.replace(OTHER, parameters=params)
    assert kit.valid_request(other) == {"appId": "ref-app", "count": "3"} == kit.example_request(other)
    lacking = dataclasses.replace(other, parameters=(*params, spec.Parameter("lang", "query", True, 7002, None, "")))
    with pytest.raises(NotApplicable, match="add an `example` to its parameter\\(s\\) lang in the spec"):
        kit.valid_request(lacking)
    assert kit.valid_request()[NAME["old.phone"]] == ACCOUNT.phone


def test_fresh_codes_are_needed_only_without_a_command_or_reusable_codes():
    kit, _ = toolkit(reusable=True)
    kit.require_fresh_codes()
    kit, _ = toolkit(reusable=False)
    kit.codes.profile.code_command = "issue-code {international_code} {phone}"
    kit.require_fresh_codes()


def test_a_lost_answer_to_a_change_has_the_keeper_find_the_account_first():
    kit, platform = toolkit()
    values = kit.change(ACCOUNT, FREE)
    platform.code = None
    with pytest.raises(CannotJudge, match="the request was sent and could have changed the account: the test account"):
        kit.call(values, TOKEN, changes_account=True)
    platform.reply = lambda request: answer(request, body=b"<html>busy</html>", status=503)
    with pytest.raises(CannotJudge, match="the gateway answered HTTP 503; the request was sent and could have"):
        kit.call(values, TOKEN, changes_account=True)


def test_another_operations_answer_is_judged_alone_and_counted_by_default():
    kit, _ = toolkit()
    other = dataclasses.replace(OTHER, envelope_schema={"type": "object", "required": ["code"]})
    request = OperationRequest(other, kit.base_url, {"appId": "x"}, token=TOKEN)
    assert kit.check(answer(request, 7001), {7001}, "rule", other) == []
    found = kit.check(answer(request, 0), {7001}, "rule", other)
    assert len(found) == 1 and found[0].rule == "rule" and found[0].expected_codes == (7001,)
    kit.check(answer(kit.run.request({}, None), REGISTERED), REGISTERED, "the primary's, by default")
    assert REGISTERED in kit.coverage.exercised_codes


def test_a_burst_refused_by_a_gateway_cannot_be_judged_saying_which():
    platform = Platform(code=SUCCESS)
    platform.reply = lambda request: answer(request, body=b"<html>busy</html>", status=503)
    kit, _ = toolkit(platform)
    values = {NAME["old.phone"]: ACCOUNT.phone}
    with pytest.raises(CannotJudge, match=r"the gateway answered HTTP 503 \(one of 2 requests sent at once\)"):
        kit.call_at_once(values, TOKEN, 2)


def test_the_primarys_wrong_answer_is_rechecked_and_its_account_looked_after():
    kit, platform = toolkit(Platform(code=SUCCESS))
    got = kit.call(kit.change(ACCOUNT, FREE), TOKEN)
    found = kit.check(got, {INCORRECT}, "rule")
    assert found[0].more[0].startswith("the target reported success")  # the keeper asked where the account is
    kit, platform = toolkit(Platform(code=INCORRECT))
    got = kit.call(kit.change(ACCOUNT, FREE), TOKEN)
    before = len(platform.sent)
    kit.check(got, {REGISTERED}, "rule")
    changes = [r for r in platform.sent[before:] if r.side("old") != r.side("new")]  # not the keeper's questions
    assert changes  # a wrong answer about the account: the change sent again before blame


def test_a_gateway_page_to_a_plain_request_is_rechecked_and_a_lost_one_cannot_be_judged():
    kit, platform = toolkit()
    values = kit.change(ACCOUNT, FREE)
    platform.reply = lambda request: (
        answer(request, body=b"<html>busy</html>", status=503) if request.values else answer(request, INCORRECT)
    )
    assert kit.call(values, TOKEN).status == 503  # the probe got the envelope: the page is the endpoint's own
    platform.reply = lambda request: lost(request)
    with pytest.raises(CannotJudge) as raised:
        kit.call(values, TOKEN)
    assert raised.value.msg == "cannot judge this case: closed"  # not a change: nobody asks after the account


def test_a_newer_code_from_a_broken_source_stops_the_run_and_the_toolkit_names_its_target():
    kit, _ = toolkit(reusable=False)
    kit.codes.profile.code_command = "issue-code {international_code} {phone}"
    kit.codes.refresh = lambda phone: (_ for _ in ()).throw(CodeSourceBroken("it hung"))
    with pytest.raises(CannotJudge, match="the SMS code source failed: it hung"):
        kit.newer_code(ACCOUNT)
    assert kit.base_url == kit.run.base_url and "CaseToolkit(" in repr(kit)


def test_a_burst_past_the_cap_is_not_judged_and_pages_instead_of_envelopes_are_rechecked():
    kit, _ = toolkit(CapSpent())
    with pytest.raises(NotJudged, match="not judged: spent"):
        kit.call_at_once({NAME["old.phone"]: ACCOUNT.phone}, TOKEN, 2)
    platform = Platform(code=SUCCESS)
    platform.reply = lambda request: answer(request, body=b"<html>maintenance</html>")
    kit, _ = toolkit(platform)
    kit.run.preflight_envelope = True  # the preflight got the envelope: a 200 page now is a change
    with pytest.raises(CannotJudge, match="stopped serving the endpoint during the run"):
        kit.call_at_once({NAME["old.phone"]: ACCOUNT.phone}, TOKEN, 2)


def fetching_toolkit(function, **settings):
    """The toolkit with a [codes] function (each call a new SMS) instead of static codes."""
    from contract_suite.target_data.code_function import CodeFunction

    profile = Profile(account=ACCOUNT, phones={"free": FREE}, code_function=CodeFunction("sms", function))
    run = fake_run(profile=profile, **settings)
    run.codes = CodeSource(profile, run.secrets, {})
    run.ledger.case = CaseEvidence("case", CONTRACT.label)
    platform = Platform()
    return CaseToolkit(run, SimpleNamespace(top=RefusedCodes(run, platform), network=platform)), platform


def test_a_change_asks_for_both_numbers_codes_at_once_and_once():
    """Neither number's code held: both asked for together (a slow SMS source costs one wait); held after."""
    import threading
    import time

    at_once, running, lock = [], [0], threading.Lock()

    def sms(international_code, phone, env):
        with lock:
            running[0] += 1
            at_once.append(running[0])
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return f"{len(at_once):06d}"

    kit, _ = fetching_toolkit(sms)
    kit.account.checked = True  # the account's question asked before (it would hold a code for the account)
    first = kit.change(ACCOUNT, FREE)
    assert max(at_once) == 2 and kit.codes.asked == 2
    assert kit.change(ACCOUNT, FREE) == first and kit.codes.asked == 2  # held: no SMS


def test_a_request_with_a_missing_parameter_or_a_wrong_token_needs_no_code_to_pass():
    kit, platform = toolkit()
    params = kit.change(ACCOUNT, FREE)
    kit.call(params, TOKEN)
    kit.call({**params, NAME["new.phone"]: ABSENT}, TOKEN)
    kit.call({**params, NAME["new.phone"]: "  "}, TOKEN)
    kit.call(params, "Bearer wrong")
    kit.call(params, TOKEN, codes_must_pass=False)
    assert [r.codes_must_pass for r in platform.sent if r.side("old").phone != r.side("new").phone] == [
        True,
        False,
        False,
        False,
        False,
    ]
