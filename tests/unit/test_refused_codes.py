"""Unit tests of contract_suite/engine/refused_codes.py: a valid SMS code the target refused is sent again with
fresh codes, and the tries after a refused fresh code wait a random, growing moment (out of step with another run);
what the refusals say of the codes goes into the run's ledger."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from contract_suite.engine.evidence import SOURCE, STATIC, Suspect
from contract_suite.engine.exchange import Resent
from contract_suite.engine.refused_codes import (
    RETRY_PAUSE_SECONDS,
    TRIES,
    UNEXPLAINED_REFUSALS,
    RefusedCodes,
    source_feeds_another_system,
)
from contract_suite.http.transport import RequestCapReached
from contract_suite.target_data.profile import Phone
from contract_suite.target_data.sms_codes import CodeSourceBroken, CodeUnavailable
from tests.support.engine_fakes import ACCOUNT, CONTRACT, FREE, ScriptedSender, answer, fake_run, lost, move

pytestmark = pytest.mark.selftest

OLD_REFUSED = CONTRACT.code_named("old-phone-verification-failed")
NEW_REFUSED = CONTRACT.code_named("new-phone-verification-failed")
SUCCESS = CONTRACT.success_code


class FakeCodes:
    """A [codes] command: each fetch gives a new code, the one before it void."""

    can_refresh = True

    def __init__(self):
        self.current: dict[str, str] = {ACCOUNT.key: "100000", FREE.key: "200000"}
        self.fetched = 0
        self.codes_go_stale = False

    def held(self, phone: Phone) -> str:
        return self.current.get(phone.key)

    def code_for(self, phone: Phone) -> str:
        return self.current[phone.key]

    def refresh(self, phone: Phone) -> str:
        self.fetched += 1
        self.current[phone.key] = str(int(self.current[phone.key]) + 1)
        return self.current[phone.key]


def account_move(codes: FakeCodes):
    return move(ACCOUNT, codes.held(ACCOUNT), FREE, codes.held(FREE))


def refusing(times: int, code: int = OLD_REFUSED) -> ScriptedSender:
    """Answers `code` to the first `times` requests, then success; each answer's msg is its number."""

    def reply(request):
        got = code if len(sender.sent) <= times else SUCCESS
        return answer(request, body=json.dumps({"code": got, "msg": str(len(sender.sent)), "data": None}).encode())

    sender = ScriptedSender(reply)
    return sender


def layer(codes, inner, **kwargs) -> tuple[RefusedCodes, object]:
    run = fake_run(codes)
    return RefusedCodes(run, inner, **kwargs), run


class WindowsDrawn(random.Random):
    """Notes each window a pause is drawn from, and draws its middle."""

    def __init__(self, windows: list[tuple[float, float]]):
        super().__init__()
        self.windows = windows

    def uniform(self, a: float, b: float) -> float:
        self.windows.append((a, b))
        return (a + b) / 2


def test_a_refused_held_code_is_sent_again_at_once_with_a_fresh_one_for_its_number_only():
    """The held code may simply have expired: the first try again waits for nothing, and only the refused number
    gets a new code (the other side's held one was not refused: fetching it would spend an SMS for nothing)."""
    codes, pauses, inner = FakeCodes(), [], refusing(1)
    refused, run = layer(codes, inner, pause=pauses.append)
    got = refused.send(account_move(codes))
    assert got.code == SUCCESS and len(inner.sent) == 2 and pauses == [] and codes.fetched == 1
    assert inner.sent[1].side("old").code == "100001" and inner.sent[1].side("new").code == "200000"
    assert codes.codes_go_stale and run.ledger.codes.source_accepted  # the fresh code passed: the source's are good
    record = run.ledger.codes
    assert (record.refused, record.refetched, record.voided_between_fetch_and_use) == (1, 1, 0)
    assert got.resent is not None and got.resent.sends == 2 and not got.resent.refused_again
    assert got.resent.first.code == OLD_REFUSED and got.held_codes == {"old": ACCOUNT, "new": FREE}


def test_the_other_sides_held_code_refused_next_gets_its_own_fresh_code():
    """The old number's fresh code passed; the new number's held code is refused in turn: it is fetched too."""
    codes = FakeCodes()
    replies = iter([OLD_REFUSED, NEW_REFUSED, SUCCESS])
    inner = ScriptedSender(lambda request: answer(request, next(replies)))
    refused, run = layer(codes, inner, pause=lambda _: None)
    got = refused.send(account_move(codes))
    assert got.code == SUCCESS and len(inner.sent) == 3 and codes.fetched == 2
    assert [(r.side("old").code, r.side("new").code) for r in inner.sent] == [
        ("100000", "200000"),
        ("100001", "200000"),
        ("100001", "200001"),
    ]
    assert got.resent.phone == FREE and not got.resent.refused_again and run.ledger.codes.refused == 2


def test_a_request_whose_answer_needs_no_code_to_pass_is_not_sent_again():
    """A request with a parameter missing, or an unusual value: its held code refused is no reason to spend an SMS
    (a wrong answer is sent again before blame, contract_suite.engine.before_blame)."""
    codes, inner = FakeCodes(), refusing(1)
    refused, run = layer(codes, inner)
    got = refused.send(dataclasses.replace(account_move(codes), codes_must_pass=False))
    assert len(inner.sent) == 1 and codes.fetched == 0 and got.resent is None and got.code == OLD_REFUSED
    assert got.held_codes == {"old": ACCOUNT, "new": FREE} and run.ledger.codes.refused == 1


def test_one_number_on_both_sides_whose_fresh_code_is_refused_at_its_second_check_is_not_tried_again():
    """The account's number as old and new phone with one code: a target where a check spends the code refuses it
    at the second check, and a newer code would void the first; one fresh code is tried, then it stops."""
    codes, inner = FakeCodes(), refusing(TRIES, NEW_REFUSED)
    refused, run = layer(codes, inner, pause=lambda _: None)
    run.ledger.codes.source_accepted = codes.codes_go_stale = True  # a fresh code passed where a held one did not
    code = codes.held(ACCOUNT)
    got = refused.send(move(ACCOUNT, code, ACCOUNT, code))
    assert len(inner.sent) == 2 and codes.fetched == 1
    assert inner.sent[1].side("old").code == inner.sent[1].side("new").code == "100001"  # one code for the number
    assert got.resent.one_code_two_checks and got.resent.refused_again and got.resent.phone == ACCOUNT
    assert run.ledger.codes.one_code_cannot_pass_two_checks
    # learnt: the next such request (the keeper's question) spends no fresh code on it
    again = refused.send(move(ACCOUNT, codes.held(ACCOUNT), ACCOUNT, codes.held(ACCOUNT)))
    assert len(inner.sent) == 3 and codes.fetched == 1 and again.resent.one_code_two_checks
    # where codes were never seen to go stale, a fresh code refused again is the target's (or the source's) doing
    codes, inner = FakeCodes(), refusing(TRIES, NEW_REFUSED)
    refused, run = layer(codes, inner, pause=lambda _: None)
    run.ledger.codes.source_accepted = True
    got = refused.send(move(ACCOUNT, code, ACCOUNT, code))
    assert len(inner.sent) == TRIES and not got.resent.one_code_two_checks


def test_fresh_codes_refused_while_the_source_never_passed_stop_the_run_within_a_few():
    """A [codes] command that reads another system's codes: one fresh code a request, no pause (nobody to fall out
    of step with), and the run stops at the second such request, naming the source, before it spends more."""
    codes, pauses = FakeCodes(), []
    refused, run = layer(codes, None, pause=pauses.append)
    run.ledger.codes.source = "command"  # as a run whose profile has a [codes] command
    for request_number in range(1, UNEXPLAINED_REFUSALS + 1):
        refused.inner = refusing(TRIES)
        got = refused.send(account_move(codes))
        assert len(refused.inner.sent) == 2 and got.resent.refused_again
        assert run.ledger.codes.unexplained_refusals == request_number
        assert (run.stopped is None) == (request_number < UNEXPLAINED_REFUSALS)
    assert codes.fetched == UNEXPLAINED_REFUSALS and pauses == []
    assert run.stopped == source_feeds_another_system("command", ACCOUNT.key)


def test_each_try_after_a_refused_fresh_code_waits_a_random_growing_moment():
    """Fresh codes refused again (another run's fetches void them): before each further try a random pause,
    drawn from a window that doubles; every try is still sent, and the last answer is the case's."""
    codes, pauses, windows, inner = FakeCodes(), [], [], refusing(TRIES)
    refused, run = layer(codes, inner, pause=pauses.append, chance=WindowsDrawn(windows))
    run.ledger.codes.source_accepted = True  # the target accepted a code from the source before
    got = refused.send(account_move(codes))
    assert len(inner.sent) == TRIES and got.code == OLD_REFUSED
    assert run.ledger.codes.refused == TRIES  # each try's refusal counted once
    assert windows == [(0, RETRY_PAUSE_SECONDS * 2**k) for k in range(TRIES - 2)]
    assert pauses == [high / 2 for _, high in windows]
    assert got.resent is not None and got.resent.refused_again and got.resent.sends == TRIES


def test_two_runs_draw_different_pauses():
    """The pauses are what takes two runs of one suite out of step: each run draws its own."""
    first, second = [], []
    for pauses in (first, second):
        codes = FakeCodes()
        refused, run = layer(codes, refusing(TRIES), pause=pauses.append)
        run.ledger.codes.source_accepted = True
        refused.send(account_move(codes))
    assert first != second


def test_an_answer_never_sent_again_says_so_and_a_request_without_held_codes_passes_through():
    codes, inner = FakeCodes(), refusing(0)
    refused, run = layer(codes, inner)
    plain = refused.send(account_move(codes))
    assert plain.resent is None and plain.held_codes == {"old": ACCOUNT, "new": FREE}
    wrong = refused.send(move(ACCOUNT, "000000", FREE, "111111"))
    assert wrong.held_codes == {} and run.ledger.codes.refused == 0 and len(inner.sent) == 2


def test_a_burst_refused_is_sent_again_and_its_tries_are_read_from_its_first_answer():
    """The same request sent several times at once, every answer refusing the held code: the burst is sent again
    with fresh codes, and the case reads the tries from the first answer of the last burst."""
    codes, inner = FakeCodes(), refusing(3)
    refused, _ = layer(codes, inner, pause=lambda _: None)
    answers = refused.send_at_once(account_move(codes), 3)
    assert len(inner.sent) == 6 and inner.bursts == [3, 3] and len(answers) == 3
    assert answers[0].resent is not None and answers[0].resent.sends == 2 and not answers[0].resent.refused_again
    assert [a.json["msg"] for a in answers] == ["4", "5", "6"]  # the last burst's answers, each in its place


def test_a_burst_with_one_success_says_nothing_of_the_codes():
    codes = FakeCodes()
    inner = ScriptedSender(lambda request: answer(request, SUCCESS if len(inner.sent) == 1 else OLD_REFUSED))
    refused, run = layer(codes, inner)
    refused.send_at_once(account_move(codes), 2)
    assert len(inner.sent) == 2 and run.ledger.codes.refused == 0 and run.ledger.codes.source_accepted


class BrokenSource(FakeCodes):
    """A [codes] command that fails when asked again (`failure`), once (then it would work)."""

    def __init__(self, failure: Exception):
        super().__init__()
        self.failure: Exception | None = failure

    def refresh(self, phone: Phone) -> str:
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure
        return super().refresh(phone)


@pytest.mark.parametrize("failure", [CodeUnavailable("no code"), CodeSourceBroken("the command failed")])
def test_no_fresh_code_the_case_judges_the_answer_it_has(failure):
    """The source cannot give a fresh code: no try again (another SMS, another failure), the first answer is the
    case's and nothing says it was sent again."""
    codes, inner = BrokenSource(failure), refusing(1)
    refused, _ = layer(codes, inner, pause=lambda _: None)
    got = refused.send(account_move(codes))
    assert len(inner.sent) == 1 and got.code == OLD_REFUSED and got.resent is None


class StaticCodes(FakeCodes):
    """[codes] static: no fresh code can be had."""

    can_refresh = False


def test_a_refused_static_code_is_counted_for_the_ledger_and_not_sent_again():
    codes = StaticCodes()
    refused, run = layer(codes, None, pause=lambda _: None)
    for _ in range(2):
        refused.inner = refusing(1)
        refused.send(account_move(codes))
        assert len(refused.inner.sent) == 1
    record = run.ledger.codes
    assert record.refused == 2 and not record.source_accepted
    static = record.static[ACCOUNT.key]
    assert (static.times_refused, static.accepted, static.refused_after_accepted) == (2, False, False)


def test_a_static_code_accepted_then_refused_stopped_working():
    codes = StaticCodes()
    refused, run = layer(codes, refusing(0))
    refused.send(account_move(codes))
    assert run.ledger.codes.static[ACCOUNT.key].accepted and run.ledger.codes.static[FREE.key].accepted
    refused.inner = refusing(1)
    refused.send(account_move(codes))
    assert run.ledger.codes.static[ACCOUNT.key].refused_after_accepted


def test_sent_again_with_fresh_codes_even_after_the_run_fetched_newer_ones():
    """A wrong answer about the account is sent again with fresh codes; a question about the account asked in
    between fetched a newer code for the account's number. The request sent again carries codes valid now on
    both sides, not the ones it was first sent with (those were refused, and the failure blamed on the target)."""
    codes, inner = FakeCodes(), refusing(0)
    refused, run = layer(codes, inner)
    first = refused.send(account_move(codes))
    codes.refresh(ACCOUNT)  # the account's question: a code of its own for the account's number
    again = refused.again_with_fresh_codes(first)
    assert refused.held(again) == {"old": ACCOUNT, "new": FREE}
    assert again.side("old").code == codes.held(ACCOUNT) and again.side("new").code == codes.held(FREE)
    assert run.ledger.codes.refetched == 2


def test_again_with_fresh_codes_keeps_a_request_that_carried_none_or_when_none_can_be_had():
    codes, inner = FakeCodes(), refusing(0)
    refused, _ = layer(codes, inner)
    wrong = refused.send(move(ACCOUNT, "000000", FREE, "111111"))
    assert refused.again_with_fresh_codes(wrong) is wrong.request
    broken = BrokenSource(CodeUnavailable("no code"))
    refused, _ = layer(broken, refusing(0))
    held = refused.send(account_move(broken))
    assert refused.again_with_fresh_codes(held) is held.request


def test_a_fresh_code_refused_and_a_fresher_one_passing_right_after_was_voided_by_someone_else():
    """A code fetched a moment before refused, and a fresher one passing right after, is someone else asking for
    codes for the same number (the verdict weighs it); the try again waits a random moment first."""
    codes, pauses, inner = FakeCodes(), [], refusing(2)
    refused, run = layer(codes, inner, pause=pauses.append)
    run.ledger.codes.source_accepted = True  # as when a fresh code first passed where a held one was refused
    refused.send(account_move(codes))
    assert len(inner.sent) == 3 and len(pauses) == 1
    assert run.ledger.codes.voided_between_fetch_and_use == 1


def test_the_suspect_of_a_wrong_answer():
    """A fresh code refused again: the source; a static code refused by a business case: that code; a case about a
    missing parameter or the token: nothing (its answer says nothing of a code)."""
    codes = FakeCodes()
    refused, _ = layer(codes, refusing(TRIES), pause=lambda _: None)
    got = refused.send(account_move(codes))
    assert refused.suspect(got, {OLD_REFUSED}, got.resent) == Suspect(SOURCE, ACCOUNT.key)
    static = StaticCodes()
    refused, _ = layer(static, refusing(1))
    got = refused.send(account_move(static))
    assert refused.suspect(got, {SUCCESS}, None) == Suspect(STATIC, ACCOUNT.key)
    missing = CONTRACT.required_parameters[0].missing_code
    assert refused.suspect(got, {missing}, None) is None
    token = CONTRACT.code_named("token-verification-failed")
    assert refused.suspect(got, {token}, None) is None


def test_the_documented_tries_at_most_four_sends_pausing_up_to_a_fifth_of_a_second_then_more():
    """docs/guarantees.md: a refused valid code is sent again at most 3 times (4 sends in all); after a refused
    fresh code each further try waits a random moment of up to 0.2 s, then 0.4 s."""
    codes, windows, inner = FakeCodes(), [], refusing(10)
    refused, run = layer(codes, inner, pause=lambda _: None, chance=WindowsDrawn(windows))
    run.ledger.codes.source_accepted = True
    refused.send(account_move(codes))
    assert len(inner.sent) == 4 and windows == [(0, 0.2), (0, 0.4)]


def test_a_run_without_a_code_source_or_another_operation_holds_no_code():
    codes = FakeCodes()
    refused, _ = layer(None, refusing(1))
    assert refused.send(account_move(codes)).held_codes == {} and refused.held(account_move(codes)) == {}
    refused, _ = layer(codes, refusing(1))
    other = dataclasses.replace(account_move(codes), operation=dataclasses.replace(CONTRACT, primary=False))
    assert refused.held(other) == {} and refused.held(account_move(codes)) == {"old": ACCOUNT, "new": FREE}


def test_a_fresh_code_that_passed_names_no_suspect_and_a_held_one_refused_only_a_static_code():
    codes = FakeCodes()
    refused, _ = layer(codes, refusing(TRIES))
    got = refused.send(account_move(codes))
    assert refused.suspect(got, {SUCCESS}, None) is None  # a [codes] command: only its tries say anything


CANCELLING = CONTRACT.code_named("new-phone-in-cancellation")


@pytest.mark.parametrize(("asked_again", "passed"), [(OLD_REFUSED, True), (CANCELLING, False)])
def test_a_static_code_an_earlier_answer_may_have_passed_is_asked_about_once(asked_again, passed):
    """A static code refused by a business case, where an earlier answer to a request carrying it was 5175: that
    request is sent once more with a wrong code on the side (no SMS). Refused for it: the code is checked before
    the 5175, so it passed, and the refusal is the target's (no suspect). Still 5175: no one can tell."""
    codes = StaticCodes()
    replies = iter([CANCELLING, OLD_REFUSED, asked_again])
    inner = ScriptedSender(lambda request: answer(request, next(replies)))
    refused, run = layer(codes, inner)
    refused.send(account_move(codes))  # 5175: may have passed the old code
    wrong = refused.send(account_move(codes))  # the case's answer: the old code refused
    suspect = refused.suspect(wrong, {NEW_REFUSED}, None)
    assert len(inner.sent) == 3 and inner.sent[2].side("old").code == "000000"
    assert inner.sent[2].side("new").code == codes.held(FREE)  # the same request, the old code made wrong
    assert (suspect is None) == passed and (suspect == Suspect(STATIC, ACCOUNT.key)) != passed
    assert run.ledger.codes.static[ACCOUNT.key].passed_by_order == passed
    refused.suspect(wrong, {NEW_REFUSED}, None)
    assert len(inner.sent) == 3  # asked once a number and side


def test_no_earlier_answer_no_question_and_the_static_code_stays_suspect():
    codes = StaticCodes()
    inner = refusing(5)
    refused, _ = layer(codes, inner)
    wrong = refused.send(account_move(codes))
    assert refused.suspect(wrong, {NEW_REFUSED}, None) == Suspect(STATIC, ACCOUNT.key) and len(inner.sent) == 1


def test_the_source_is_blamed_at_the_second_request_of_the_accounts_own_number_and_only_there():
    """docs/guarantees.md: fresh codes for the test account's own number, as the original phone, refused twice
    while the source never passed: the run stops (about ten codes in all at most). A refusal of another number, or
    of the account's number as the new phone, may be the target's wrong answer about it: never counted."""
    codes = FakeCodes()
    refused, run = layer(codes, None, pause=lambda _: None)
    run.ledger.codes.source = "command"
    refused.inner = refusing(TRIES, NEW_REFUSED)
    refused.send(account_move(codes))  # the free number's code refused, fresh too
    own_as_new = move(FREE, codes.held(FREE), ACCOUNT, codes.held(ACCOUNT))
    refused.inner = refusing(TRIES, NEW_REFUSED)
    refused.send(own_as_new)  # the account's number refused, as the new phone
    assert run.ledger.codes.unexplained_refusals == 0 and run.stopped is None
    for _ in range(2):
        refused.inner = refusing(TRIES)
        refused.send(account_move(codes))
    assert run.ledger.codes.unexplained_refusals == 2 and run.stopped is not None


def test_once_one_code_cannot_pass_two_checks_the_next_such_request_says_so_at_once():
    codes, inner = FakeCodes(), refusing(TRIES, NEW_REFUSED)
    refused, run = layer(codes, inner, pause=lambda _: None)
    run.ledger.codes.one_code_cannot_pass_two_checks = True
    code = codes.held(ACCOUNT)
    got = refused.send(move(ACCOUNT, code, ACCOUNT, code))
    assert len(inner.sent) == 1 and codes.fetched == 0
    assert got.resent == Resent(ACCOUNT, got.resent.first, True, 1, one_code_two_checks=True)
    assert got.resent.first.code == NEW_REFUSED


def test_only_a_whole_business_answer_that_refuses_no_held_side_may_have_passed_a_static_code():
    """Kept as the evidence of a static code's check: a documented business code other than success and the
    refusals; never a lost answer, a missing-code, an undocumented code, a string or a boolean code."""
    missing = CONTRACT.required_parameters[0].missing_code
    for kept, reply in [
        (False, lambda request: lost(request)),
        (False, lambda request: answer(request, missing)),
        (False, lambda request: answer(request, 99999)),
        (False, lambda request: answer(request, str(CANCELLING))),
        (False, lambda request: answer(request, True)),
        (False, lambda request: answer(request, SUCCESS)),
        (False, lambda request: answer(request, NEW_REFUSED)),
        (True, lambda request: answer(request, CANCELLING)),
    ]:
        codes = StaticCodes()
        refused, _ = layer(codes, ScriptedSender(reply))
        refused.send(account_move(codes))
        assert ((ACCOUNT.key, "old") in refused._passed_maybe) == kept, reply


def static_refusal_after_a_5175():
    """Static codes: a 5175 to the account's move, then its old code refused; the layer, its run, the refusal."""
    codes = StaticCodes()
    replies = iter([CANCELLING, OLD_REFUSED])
    inner = ScriptedSender(lambda request: answer(request, next(replies)))
    refused, run = layer(codes, inner)
    refused.send(account_move(codes))
    return refused, run, refused.send(account_move(codes))


def test_a_static_code_seen_accepted_is_not_asked_about_and_no_request_left_asks_nothing():
    refused, run, wrong = static_refusal_after_a_5175()
    run.ledger.codes.static_of(ACCOUNT.key).accepted = True  # a success carried it
    assert refused.suspect(wrong, {NEW_REFUSED}, None) is None and len(refused.inner.sent) == 2
    refused, _, wrong = static_refusal_after_a_5175()

    def spent(request):
        raise RequestCapReached("spent")

    refused.inner = ScriptedSender(spent)
    assert refused.suspect(wrong, {NEW_REFUSED}, None) == Suspect(STATIC, ACCOUNT.key)
