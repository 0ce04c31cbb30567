"""Unit tests of contract_suite/engine/account.py: whether a request could move the account, where the account is,
asking a number, and what the keeper says after an answer."""

from __future__ import annotations

import pytest

from contract_suite.engine.account import IN_STEP, MOVED, AccountKeeper
from contract_suite.engine.evidence import Failure
from contract_suite.engine.exchange import OperationRequest
from contract_suite.http.transport import RequestCapReached
from contract_suite.outcomes import CannotJudge, NotJudged
from contract_suite.target_data.profile import Phone
from contract_suite.target_data.sms_codes import CodeSourceBroken, CodeUnavailable
from tests.support.engine_fakes import (
    ACCOUNT,
    CONTRACT,
    ELSEWHERE,
    FREE,
    TOKEN,
    ScriptedSender,
    answer,
    fake_run,
    lost,
    move,
)

pytestmark = pytest.mark.selftest

SUCCESS = CONTRACT.success_code
OLD_PHONE_INCORRECT = CONTRACT.code_named("old-phone-incorrect")
NEW_PHONE_REGISTERED = CONTRACT.code_named("new-phone-registered")
UNDOCUMENTED_CODE = max(CONTRACT.codes) + 1


class FakeCodes:
    """The code source: one code for any number, and the numbers whose codes a success spent."""

    can_refresh = True

    def __init__(self):
        self.consumed_phones: list[Phone] = []

    def code_for_probe(self, phone):
        return "123456"

    def code_for(self, phone):
        return "123456"

    def consumed(self, *phones):
        self.consumed_phones += phones


class FakeTarget(ScriptedSender):
    """Answers the suite's question "from a number to itself" as a target whose account holds `holds`; `success`
    lists the numbers it (wrongly) answers success for, `silent` those it answers with no whole answer."""

    def __init__(self, holds: Phone | None, success=(), silent=()):
        super().__init__(self._answer)
        self.holds, self.success, self.silent = holds, set(success), set(silent)
        self.asked: list[Phone] = []

    def _answer(self, request):
        phone = request.side("old").phone
        self.asked.append(phone)
        if phone in self.silent:
            return lost(request)
        code = NEW_PHONE_REGISTERED if phone == self.holds else OLD_PHONE_INCORRECT
        return answer(request, SUCCESS if phone in self.success else code)

    def with_fresh_codes(self, request, held, refused_side=None):
        return request


def keeper(target: FakeTarget, account: Phone | None = ACCOUNT, **settings) -> AccountKeeper:
    return AccountKeeper(fake_run(FakeCodes(), account=account, **settings), target)


def test_only_the_valid_token_from_the_account_to_another_number_could_move_it():
    keeps = keeper(FakeTarget(ACCOUNT))

    def could(old, new, token=TOKEN):
        return bool(keeps.could_move(move(old, "1", new, "2", token)))

    assert could(ACCOUNT, FREE)
    assert could(ACCOUNT, Phone("86", " x "))  # a number of any shape
    assert not could(ACCOUNT, FREE, token="Bearer other")
    assert not could(ACCOUNT, FREE, token=None)
    assert not could(FREE, ELSEWHERE)
    assert not could(ACCOUNT, ACCOUNT)
    assert not could(ACCOUNT, Phone("86", "  "))
    assert not could(ACCOUNT, Phone("", "13800000002"))
    keeps.question_failed = True
    assert not could(ACCOUNT, FREE)
    no_token = keeper(FakeTarget(ACCOUNT))
    no_token.run.tokens = {}
    assert not no_token.could_move(move(ACCOUNT, "1", FREE, "2"))
    assert not keeper(FakeTarget(ACCOUNT), account=None).could_move(move(ACCOUNT, "1", FREE, "2"))


def test_asking_reads_registered_as_held_and_incorrect_as_not():
    keeps = keeper(FakeTarget(ACCOUNT, silent=[ELSEWHERE]))
    assert keeps.ask(ACCOUNT)[0] is True and keeps.ask(ACCOUNT)[2] is None
    assert keeps.ask(FREE)[0] is False and keeps.ask(FREE)[2] is None
    holds, got, wrong = keeps.ask(ELSEWHERE)
    assert holds is None and got.failure is not None and wrong is None
    other = ScriptedSender(lambda request: answer(request, UNDOCUMENTED_CODE))
    refused = AccountKeeper(fake_run(FakeCodes()), other)
    assert refused.ask(ACCOUNT)[::2] == (None, None) and not refused.question_failed  # neither answer: no answer
    asked = other.sent[0]
    assert asked.side("old") == asked.side("new") and asked.side("old").phone == ACCOUNT and asked.token == TOKEN


def test_a_question_answered_with_success_fails_once_and_spends_the_codes():
    target = FakeTarget(ACCOUNT, success=[FREE])
    keeps = keeper(target)
    holds, _, wrong = keeps.ask(FREE)
    assert holds is None and keeps.question_failed and keeps.codes.consumed_phones == [FREE]
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


def test_the_state_is_in_step_or_moved():
    assert keeper(FakeTarget(ACCOUNT)).state()[0] == IN_STEP
    assert keeper(FakeTarget(FREE)).state()[0] == MOVED


def test_an_account_moved_before_the_first_case_stops_the_run_once():
    target = FakeTarget(FREE)
    keeps = keeper(target)
    with pytest.raises(CannotJudge, match="does not hold 86-13800000001"):
        keeps.ensure_in_step()
    assert keeps.ensure_in_step() is None and len(target.asked) == 1  # asked once a run


def test_an_error_answer_that_could_not_move_the_account_asks_nothing():
    target = FakeTarget(ACCOUNT)
    keeps = keeper(target)
    request = move(FREE, "1", ELSEWHERE, "2")
    failure = Failure("rule")
    assert keeps.after_answer(answer(request, OLD_PHONE_INCORRECT), {SUCCESS}, failure, "rule") == [failure]
    assert target.asked == []


def test_an_error_answer_that_could_have_moved_the_account_asks_where_it_is_and_says_so():
    target = FakeTarget(ACCOUNT)
    keeps = keeper(target)
    request = move(ACCOUNT, "1", FREE, "2")
    failure = Failure("rule")
    found = keeps.after_answer(answer(request, UNDOCUMENTED_CODE), {SUCCESS}, failure, "rule")
    assert target.asked == [ACCOUNT]
    assert found[0].more == (f"asked where the account is: the test account still holds {ACCOUNT}",)


def test_an_unexpected_success_is_moved_back():
    """The target said success to a request that should have failed, and the account moved: the keeper moves it
    back with fresh codes and says so on the case's failure."""
    moves = []

    def reply(request):
        old, new = request.side("old").phone, request.side("new").phone
        if old == new:  # a question
            return answer(
                request, NEW_PHONE_REGISTERED if old == (FREE if not moves else ACCOUNT) else OLD_PHONE_INCORRECT
            )
        moves.append((old, new))
        return answer(request, SUCCESS)

    target = ScriptedSender(reply)
    target.with_fresh_codes = lambda request, held, refused_side=None: request
    keeps = AccountKeeper(fake_run(FakeCodes()), target)
    request = move(ACCOUNT, "1", FREE, "2")
    found = keeps.after_answer(answer(request, SUCCESS), {OLD_PHONE_INCORRECT}, Failure("rule"), "rule")
    assert moves == [(FREE, ACCOUNT)] and all(r.changes_account for r in target.sent if r.side("old") != r.side("new"))
    assert f"the suite moved the test account back from {FREE} to {ACCOUNT}" in found[0].more[0]


def test_without_destructive_the_move_back_is_a_line_to_run_by_hand():
    keeps = keeper(FakeTarget(FREE), allow_destructive=False)
    moved = keeps._move_back(FREE)
    assert not moved.done and moved.line.startswith(f"THE TEST ACCOUNT MAY NOW HOLD {FREE}")
    assert "${OLD_PHONE_CODE:?" in moved.line and "123456" not in moved.line


# -- the repairs, against a platform kept in memory ---------------------------------------------------------------


class MemoryPlatform(ScriptedSender):
    """setPhone in memory: the account holds `holds`; a request from a number to itself asks where it is; a change
    from the account's number with the valid token moves it (answering success) unless `refuse` says otherwise.
    `lies` answers success without moving; `moves_on_error` moves it and answers the given error code;
    `lost_moves` moves it and loses the answer; `stuck` refuses every move back."""

    def __init__(self, holds=ACCOUNT, lies=False, moves_on_error=None, lost_moves=False, stuck=False):
        super().__init__(self._reply)
        self.holds, self.lies, self.moves_on_error = holds, lies, moves_on_error
        self.lost_moves, self.stuck = lost_moves, stuck
        self.times_it_moves = -1  # how many more changes an error answer makes (-1: every one)
        self.moves: list[tuple[Phone, Phone]] = []
        self.fresh: list[OperationRequest] = []

    def _reply(self, request):
        old, new = request.side("old").phone, request.side("new").phone
        if old == new:  # the keeper's question
            return answer(request, NEW_PHONE_REGISTERED if old == self.holds else OLD_PHONE_INCORRECT)
        if old != self.holds:
            return answer(request, OLD_PHONE_INCORRECT)
        if new == ACCOUNT and self.stuck:  # a move back
            return answer(request, CONTRACT.code_named("old-phone-verification-failed"))
        if self.lies:
            return answer(request, SUCCESS)
        if self.moves_on_error is not None and new != ACCOUNT:
            if self.times_it_moves == 0:
                return answer(request, self.moves_on_error)  # the error, and this time nothing moved
            self.times_it_moves -= 1
        self.holds = new
        self.moves.append((old, new))
        if self.lost_moves and new != ACCOUNT:
            return lost(request)
        if self.moves_on_error is not None and new != ACCOUNT:
            return answer(request, self.moves_on_error)
        return answer(request, SUCCESS)

    def with_fresh_codes(self, request, held, refused_side=None):
        self.fresh.append(request)
        return request


def keeping(platform, **settings) -> AccountKeeper:
    return AccountKeeper(fake_run(FakeCodes(), **settings), platform)


def change(code=SUCCESS, platform=None):
    request = move(ACCOUNT, "1", FREE, "2")
    return request, (platform.send(request) if platform else answer(request, code))


def test_an_unexpected_success_that_moved_the_account_is_put_back_and_said():
    platform = MemoryPlatform()
    keeps = keeping(platform)
    _, got = change(platform=platform)
    found = keeps.after_answer(got, {OLD_PHONE_INCORRECT}, Failure("rule"), "rule")
    assert platform.holds == ACCOUNT and platform.moves == [(ACCOUNT, FREE), (FREE, ACCOUNT)]
    assert found[0].more[0].startswith(f"the target reported success: the account moved to {FREE} (asked: {ACCOUNT}")
    assert f"the suite moved the test account back from {FREE} to {ACCOUNT}" in found[0].more[0]
    assert keeps.codes.consumed_phones[:2] == [ACCOUNT, FREE] and keeps.run.stopped is None
    back = [r for r in platform.sent if r.side("new").phone == ACCOUNT and r.side("old").phone == FREE]
    assert back and back[0].changes_account


def test_a_success_that_changed_nothing_is_said_as_such():
    platform = MemoryPlatform(lies=True)
    keeps = keeping(platform)
    _, got = change(platform=platform)
    found = keeps.after_answer(got, {OLD_PHONE_INCORRECT}, Failure("rule"), "rule")
    assert platform.moves == [] and "nothing changed: the account still holds" in found[0].more[0]


def test_an_error_answer_that_moved_the_account_is_reproduced_then_blamed():
    """An error must change nothing: the account moved, so the keeper moves it back, sends the request once more
    (with fresh codes) and, when it moves again, the case fails saying so and the account is put back."""
    platform = MemoryPlatform(moves_on_error=NEW_PHONE_REGISTERED)
    keeps = keeping(platform)
    _, got = change(platform=platform)
    found = keeps.after_answer(got, {NEW_PHONE_REGISTERED}, None, "rule")
    assert (
        found[0].rule.startswith(f"rule: the target answered {NEW_PHONE_REGISTERED}")
        and "yet the test account moved" in found[0].rule
    )
    assert "it moved again (reproduced)" in found[0].more[0] and platform.holds == ACCOUNT
    assert len(platform.fresh) == 1 and keeps.run.stopped is None


def test_an_error_answer_that_moved_the_account_once_only_is_someone_elses():
    platform = MemoryPlatform(moves_on_error=NEW_PHONE_REGISTERED)
    keeps = keeping(platform)
    _, got = change(platform=platform)
    platform.times_it_moves = 0  # sent again, the same error, and nothing moves
    with pytest.raises(CannotJudge, match="the test account was changed by someone else during the run"):
        keeps.after_answer(got, {NEW_PHONE_REGISTERED}, None, "rule")
    assert keeps.run.ledger.account_moved_by_someone_else


def test_a_lost_answer_that_moved_the_account_is_put_back_and_the_case_cannot_be_judged():
    platform = MemoryPlatform(lost_moves=True)
    keeps = keeping(platform)
    request, _ = change(platform=platform)
    with pytest.raises(CannotJudge, match=f"the suite moved the test account back from {FREE} to {ACCOUNT}"):
        keeps.after_lost(request, "cannot judge this case: closed", "it could have moved the account")
    assert platform.holds == ACCOUNT and keeps.run.stopped is None


def test_an_account_that_cannot_be_moved_back_stops_the_run_with_the_line_that_does_it_by_hand():
    platform = MemoryPlatform(stuck=True)
    keeps = keeping(platform)
    _, got = change(platform=platform)
    keeps.after_answer(got, {OLD_PHONE_INCORRECT}, Failure("rule"), "rule")
    assert platform.holds == FREE and keeps.run.stopped.startswith("the target reported success: the account moved")
    assert f"THE TEST ACCOUNT MAY NOW HOLD {FREE}" in keeps.run.stopped and "curl -sS -X PUT" in keeps.run.stopped


def test_the_restore_after_a_change_moves_it_back_or_fails_saying_where_it_is():
    platform = MemoryPlatform()
    keeps = keeping(platform)
    change(platform=platform)
    request, back, failure = keeps.restore(FREE)
    assert (
        failure is None and back.code == SUCCESS and request.side("new").phone == ACCOUNT and platform.holds == ACCOUNT
    )
    stuck = MemoryPlatform(stuck=True)
    keeps = keeping(stuck)
    change(platform=stuck)
    _, _, failure = keeps.restore(FREE)
    assert failure.rule.startswith(f"RESTORE FAILED: moving the test account back from {FREE} to {ACCOUNT}")
    assert keeps.run.stopped and keeps.run.ledger.case is None


def test_a_burst_that_won_is_moved_back_and_one_that_did_not_is_asked_after():
    platform = MemoryPlatform()
    keeps = keeping(platform)
    request, got = change(platform=platform)
    found = keeps.after_burst([got, answer(request, OLD_PHONE_INCORRECT)], [Failure("two won")], won=1)
    assert platform.holds == ACCOUNT and found[0].more == (
        f"the suite moved the test account back from {FREE} to {ACCOUNT}",
    )
    platform = MemoryPlatform()
    keeps = keeping(platform)
    request = move(ACCOUNT, "1", FREE, "2")
    found = keeps.after_burst([answer(request, 99999)] * 2, [Failure("none won")], won=0)
    assert found[0].more == (f"asked where the account is: the test account still holds {ACCOUNT}",)


def test_without_destructive_a_move_back_is_left_to_a_person_and_the_run_stops():
    platform = MemoryPlatform()
    keeps = keeping(platform, allow_destructive=False)
    _, got = change(platform=platform)
    keeps.after_answer(got, {OLD_PHONE_INCORRECT}, Failure("rule"), "rule")
    assert platform.holds == FREE and "without --allow-destructive" in keeps.run.stopped


# -- a repair that itself fails: no request left, a broken code source ------------------------------------------


class Faulty(MemoryPlatform):
    """The memory platform that raises `fault` on the keeper's questions (a number to itself) from the `after`-th
    request on, or on every move back."""

    def __init__(self, fault, after=0, on="questions", **kwargs):
        super().__init__(**kwargs)
        self.fault, self.after, self.on = fault, after, on

    def send(self, request):
        question = request.side("old") == request.side("new")
        back = request.side("new").phone == ACCOUNT and not question
        if len(self.sent) >= self.after and ((self.on == "questions" and question) or (self.on == "backs" and back)):
            raise self.fault
        return super().send(request)


class Codes(FakeCodes):
    def __init__(self, fault=None, probe_fault=None):
        super().__init__()
        self.fault, self.probe_fault = fault, probe_fault

    def code_for(self, phone):
        if self.fault is not None:
            raise self.fault
        return super().code_for(phone)

    def code_for_probe(self, phone):
        if self.probe_fault is not None:
            raise self.probe_fault
        return super().code_for_probe(phone)


def keeper_with(platform, codes) -> AccountKeeper:
    return AccountKeeper(fake_run(codes), platform)


def test_asking_before_the_first_case_without_a_code_a_source_or_a_request_left():
    assert keeper_with(MemoryPlatform(), Codes(probe_fault=CodeUnavailable("none"))).ensure_in_step() is None
    keeps = keeper_with(MemoryPlatform(), Codes(probe_fault=CodeSourceBroken("it hung")))
    with pytest.raises(CannotJudge, match="the SMS code source failed: it hung"):
        keeps.ensure_in_step()
    keeps = keeper_with(Faulty(RequestCapReached("spent")), Codes())
    with pytest.raises(NotJudged, match="spent") as skipped:
        keeps.ensure_in_step()
    assert skipped.value.needs == "a higher --max-requests"


@pytest.mark.parametrize("fault", [RequestCapReached("no request left"), CodeSourceBroken("it hung")])
def test_an_error_answer_whose_account_cannot_be_asked_after_says_so(fault):
    keeps = keeper_with(Faulty(fault), Codes())
    found = keeps.after_answer(answer(move(ACCOUNT, "1", FREE, "2"), 99999), {SUCCESS}, Failure("rule"), "rule")
    assert found[0].more == (f"the suite cannot ask where the test account is: {fault}",)
    assert keeps.run.stopped is None


def test_a_success_whose_account_cannot_be_asked_after_leaves_the_line_that_moves_it_back():
    platform = Faulty(RequestCapReached("no request left"))
    keeps = keeper_with(platform, Codes())
    _, got = change(platform=platform)
    keeps.after_answer(got, {OLD_PHONE_INCORRECT}, Failure("rule"), "rule")
    assert "the suite cannot ask where the test account is: no request left" in keeps.run.stopped
    assert f"THE TEST ACCOUNT MAY NOW HOLD {FREE}" in keeps.run.stopped


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (CodeUnavailable("none"), "cannot move it back: none"),
        (CodeSourceBroken("it hung"), "cannot move it back: it hung"),
    ],
)
def test_a_move_back_without_codes_is_left_to_a_person(fault, said):
    platform = MemoryPlatform()
    keeps = keeper_with(platform, Codes(fault=fault))
    change(platform=platform)
    moved = keeps._move_back(FREE)
    assert not moved.done and said in moved.words and moved.line.startswith(f"THE TEST ACCOUNT MAY NOW HOLD {FREE}")


@pytest.mark.parametrize("fault", [RequestCapReached("spent"), CannotJudge("stopped")])
def test_a_move_back_that_cannot_be_sent_is_left_to_a_person(fault):
    platform = Faulty(fault, on="backs")
    keeps = keeper_with(platform, Codes())
    change(platform=platform)
    moved = keeps._move_back(FREE)
    assert not moved.done and f"cannot move it back: {fault}" in moved.words


def test_a_refused_move_back_whose_account_cannot_be_asked_after_says_neither_number():
    platform = MemoryPlatform(stuck=True)
    keeps = keeper_with(platform, Codes())
    change(platform=platform)
    platform.__class__ = Faulty
    platform.fault, platform.after, platform.on = RequestCapReached("spent"), len(platform.sent) + 1, "questions"
    moved = keeps._move_back(FREE)
    assert not moved.done and "asked, it answers to neither number" in moved.words


def test_a_lost_answer_whose_account_cannot_be_found_is_left_to_a_person():
    platform = Faulty(CodeSourceBroken("it hung"), lost_moves=True)
    keeps = keeper_with(platform, Codes())
    request, _ = change(platform=platform)
    with pytest.raises(CannotJudge):
        keeps.after_lost(request, "cannot judge this case: closed", "it could have moved the account")
    assert "the suite cannot tell: it hung" in keeps.run.stopped


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (CodeUnavailable("none"), "(not sent again: no fresh SMS code to send it with)"),
        (RequestCapReached("spent"), "(not sent again: spent)"),
    ],
)
def test_an_error_answer_that_moved_the_account_but_cannot_be_sent_again_says_why(fault, said):
    platform = MemoryPlatform(moves_on_error=NEW_PHONE_REGISTERED)
    keeps = keeper_with(platform, Codes())
    _, got = change(platform=platform)
    if isinstance(fault, CodeUnavailable):
        platform.with_fresh_codes = lambda request, held, refused_side=None: (_ for _ in ()).throw(fault)
    else:
        send = platform.send

        def no_change_again(request):  # the account's questions and its move back go; the change sent again not
            if request.side("old").phone == ACCOUNT and request.side("new").phone == FREE:
                raise fault
            return send(request)

        platform.send = no_change_again
    found = keeps.after_answer(got, {NEW_PHONE_REGISTERED}, None, "rule")
    assert said in found[0].more[0] and platform.holds == ACCOUNT
