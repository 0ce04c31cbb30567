"""Unit tests of contract_suite/engine/account.py: whether a request could move the account, where the account is,
asking a number, and what the keeper says after an answer."""

from __future__ import annotations

import pytest

from contract_suite.engine.account import IN_STEP, MOVED, AccountKeeper
from contract_suite.engine.evidence import SOMEONE_ELSE, SOURCE, Failure, Suspect
from contract_suite.engine.exchange import OperationRequest
from contract_suite.http.transport import RequestCapReached
from contract_suite.outcomes import CannotJudge, NotJudged
from contract_suite.target_data.profile import Phone
from contract_suite.target_data.sms_codes import CodeSourceBroken, CodeUnavailable
from tests.support.engine_fakes import (
    ACCOUNT,
    BASE_URL,
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


# -- the rarer repairs: what each says, whether `done` says the account is home, and what it sent -------------------

OLD_PHONE_REFUSED = CONTRACT.code_named("old-phone-verification-failed")
NEW_PHONE_REFUSED = CONTRACT.code_named("new-phone-verification-failed")
NO_NUMBER = Phone("86", "")  # a side the request leaves empty: it names no number
UNREACHABLE = Phone("86", "138\n0")  # a number no SMS reaches: the keeper cannot ask about it
LOST = "cannot judge this case: closed"
COULD = "it could have moved the account"


class RarerPlatform(MemoryPlatform):
    """The memory platform with the faults the rarer repairs meet: `silent` numbers whose questions get no whole
    answer, `says_success` numbers whose questions it answers with success; a move back that answers `back_answer`
    (a code, "lost", or "no envelope": an HTTP 500 page), moving the account only when `back_moves`; and after
    `good_backs` move backs (None: no limit) it refuses the rest for the original phone's code."""

    def __init__(self, silent=(), says_success=(), back_answer=None, back_moves=True, good_backs=None, **kwargs):
        super().__init__(**kwargs)
        self.silent, self.says_success = set(silent), set(says_success)
        self.back_answer, self.back_moves, self.good_backs = back_answer, back_moves, good_backs

    def _reply(self, request):
        old, new = request.side("old").phone, request.side("new").phone
        if old == new and old in self.silent:
            return lost(request)
        if old == new and old in self.says_success:
            return answer(request, SUCCESS)
        if old == new or new != ACCOUNT or old != self.holds:
            return super()._reply(request)
        if self.good_backs is not None:
            if self.good_backs == 0:
                return answer(request, OLD_PHONE_REFUSED)
            self.good_backs -= 1
        if self.back_answer is None:
            return super()._reply(request)
        if self.back_moves:
            self.holds = ACCOUNT
            self.moves.append((old, new))
        if self.back_answer == "lost":
            return lost(request)
        if self.back_answer == "no envelope":
            return answer(request, status=500, body=b"<html>internal error</html>")
        return answer(request, self.back_answer)


def questions(platform) -> list[Phone]:
    """The numbers the keeper asked about, in order."""
    return [r.side("old").phone for r in platform.sent if r.side("old") == r.side("new")]


def one_line(text: str) -> bool:
    return "\n" not in text and text.count("curl -sS -X PUT") == 1


def test_a_question_is_not_sent_as_a_change_of_the_account():
    """A question changes nothing: the gateway may send it again after a 502 or 504, which it never does for a
    change."""
    platform = MemoryPlatform()
    keeping(platform).ask(ACCOUNT)
    assert [r.changes_account for r in platform.sent] == [False]


def test_a_request_that_never_carries_the_token_or_names_no_original_phone_could_not_move_the_account():
    keeps = keeping(MemoryPlatform())
    headerless = OperationRequest(
        CONTRACT, BASE_URL, move(ACCOUNT, "1", FREE, "2").values, token=TOKEN, token_header=""
    )
    assert not headerless.carries_token and not keeps.could_move(headerless)  # the token never goes out
    without_account = keeping(MemoryPlatform(), account=None)
    assert not without_account.could_move(move(NO_NUMBER, "1", FREE, "2"))


def test_before_the_first_case_an_account_on_its_number_lets_the_run_go_on():
    platform = MemoryPlatform()
    keeps = keeping(platform)
    assert keeps.ensure_in_step() is None and keeps.checked and questions(platform) == [ACCOUNT]
    assert keeps.run.stopped is None


def test_before_the_first_case_a_question_answered_with_success_is_that_cases_failure():
    keeps = keeping(RarerPlatform(says_success=[ACCOUNT]))
    wrong = keeps.ensure_in_step()
    assert wrong.rule.startswith(f"before this case, asked where the test account is: {ACCOUNT} as both")
    assert keeps.run.stopped is None


def test_without_an_account_or_a_token_nothing_is_asked_before_the_first_case():
    platform = MemoryPlatform()
    assert keeping(platform, account=None).ensure_in_step() is None
    no_token = keeping(platform)
    no_token.run.tokens = {}
    assert no_token.ensure_in_step() is None and not no_token.checked
    assert platform.sent == []


@pytest.mark.parametrize(
    ("checked", "said"),
    [
        (True, f"changed by someone else during the run: it no longer holds {ACCOUNT} (the target answers"),
        (False, f"the test account does not hold {ACCOUNT}: the target answers"),
    ],
)
def test_a_case_told_the_account_is_not_on_its_number_stops_the_run_when_it_moved(checked, said):
    """The case's failure (5174 from the account's own number) is confirmed by asking: the account is away and no
    request of the run moved it, so the run stops; during the run that is someone else's doing."""
    platform = MemoryPlatform(holds=ELSEWHERE)
    keeps = keeping(platform)
    keeps.checked = checked
    told = answer(move(ACCOUNT, "1", FREE, "2"), OLD_PHONE_INCORRECT)
    with pytest.raises(CannotJudge, match="cannot judge: "):
        keeps.after_answer(told, {SUCCESS}, Failure("rule"), "rule")
    assert said in keeps.run.stopped and questions(platform) == [ACCOUNT]
    assert keeps.run.ledger.account_moved_by_someone_else is checked and platform.moves == []


def test_a_case_told_the_account_is_not_on_its_number_keeps_its_failure_when_it_is_there():
    """Asked, the account is home: the case's 5174 stands, the run goes on (asked a second time, as an error answer
    to a request that could move it)."""
    platform = MemoryPlatform()
    keeps = keeping(platform)
    told = answer(move(ACCOUNT, "1", FREE, "2"), OLD_PHONE_INCORRECT)
    found = keeps.after_answer(told, {SUCCESS}, Failure("rule"), "rule")
    assert keeps.run.stopped is None and questions(platform) == [ACCOUNT, ACCOUNT]
    assert found == [Failure("rule", more=(f"asked where the account is: the test account still holds {ACCOUNT}",))]
    keeping(platform, account=None).confirm_out_of_step()
    assert len(platform.sent) == 2  # no account: nothing to confirm


def test_an_error_answer_from_the_account_saying_it_was_away_is_someone_elses():
    """The account was on the request's new phone before the request came (the target answered 5174 to it from
    the account's number): no request of the run moved it, so nothing is moved back or sent again."""
    platform = MemoryPlatform(holds=FREE)
    keeps = keeping(platform)
    told = answer(move(ACCOUNT, "1", FREE, "2"), OLD_PHONE_INCORRECT)
    repair = keeps.after_error_answer(told, OLD_PHONE_INCORRECT)
    assert repair.someone_else and not repair.done and repair.stop == repair.words
    assert (
        f"it no longer held {ACCOUNT} when a request from it came (the target answered "
        f"{CONTRACT.describe(OLD_PHONE_INCORRECT)}), and no request of this run moved it" in repair.words
    )
    assert platform.moves == [] and platform.fresh == [] and platform.holds == FREE


def test_a_case_whose_error_answer_said_the_account_was_away_cannot_be_judged():
    """The same through the case's answer: the code the case got is what tells (a lone request, not a burst)."""
    platform = MemoryPlatform(holds=FREE)
    keeps = keeping(platform)
    told = answer(move(ACCOUNT, "1", FREE, "2"), OLD_PHONE_INCORRECT)
    with pytest.raises(CannotJudge, match=f"it no longer held {ACCOUNT} when a request from it came"):
        keeps.after_answer(told, {NEW_PHONE_REGISTERED}, None, "rule")
    assert platform.moves == [] and keeps.run.ledger.account_moved_by_someone_else


def test_an_error_answer_after_which_the_account_holds_neither_number_is_someone_elses():
    platform = MemoryPlatform(holds=ELSEWHERE)
    keeps = keeping(platform)
    repair = keeps.after_error_answer(answer(move(ACCOUNT, "1", FREE, "2"), NEW_PHONE_REGISTERED))
    assert repair.someone_else and not repair.done and repair.stop == repair.words
    assert f"it no longer holds {ACCOUNT} and does not hold {FREE} (the new phone of the request" in repair.words
    assert questions(platform) == [ACCOUNT, ACCOUNT, FREE] and platform.moves == []


def test_an_error_answer_after_which_the_target_will_not_say_of_the_new_phone_is_moved_back_from_it():
    """The account left its number and the question about the new phone gets no answer: the keeper tries the move
    back from there, saying what each number told."""
    platform = RarerPlatform(holds=FREE, silent=[FREE])
    keeps = keeping(platform)
    repair = keeps.after_error_answer(answer(move(ACCOUNT, "1", FREE, "2"), NEW_PHONE_REGISTERED))
    assert repair.done and platform.holds == ACCOUNT and platform.moves == [(FREE, ACCOUNT)]
    assert repair.words == (
        f"the account moved although the target answered an error, so the account may have moved to {FREE} "
        f"({ACCOUNT}: not the account's; {FREE}: no clear answer); "
        f"the suite moved the test account back from {FREE} to {ACCOUNT}"
    )
    assert not repair.someone_else and repair.stop is None and repair.wrong == [] and platform.fresh == []


def test_an_error_answer_with_the_account_in_place_says_where_it_is_and_no_more():
    platform = MemoryPlatform()
    repair = keeping(platform).after_error_answer(answer(move(ACCOUNT, "1", FREE, "2"), UNDOCUMENTED_CODE))
    assert repair.done and repair.words == "" and repair.stop is None and repair.wrong == []
    assert repair.where == f"asked where the account is: the test account still holds {ACCOUNT}"


def test_an_error_answer_whose_question_the_target_answers_with_success_says_it_would_not_say():
    platform = RarerPlatform(says_success=[ACCOUNT])
    repair = keeping(platform).after_error_answer(answer(move(ACCOUNT, "1", FREE, "2"), UNDOCUMENTED_CODE))
    assert repair.done and repair.words == "" and repair.where == "asked where the account is: the target would not say"
    assert len(repair.wrong) == 1 and repair.wrong[0].rule.startswith(f"asked where the test account is: {ACCOUNT}")


def test_an_error_answer_that_moved_the_account_again_when_sent_again_is_put_back_twice():
    platform = MemoryPlatform(moves_on_error=NEW_PHONE_REGISTERED)
    keeps = keeping(platform)
    _, got = change(platform=platform)
    repair = keeps.after_error_answer(got, got.code)
    back = f"the suite moved the test account back from {FREE} to {ACCOUNT}"
    assert repair.words == (
        f"the account moved although the target answered an error: the account moved to {FREE} "
        f"(asked: {ACCOUNT} and {FREE}); {back}; sent again with fresh SMS codes "
        f"({CONTRACT.describe(NEW_PHONE_REGISTERED)}), it moved again (reproduced); {back}"
    )
    assert repair.done and platform.holds == ACCOUNT and repair.wrong == [] and repair.stop is None
    assert platform.moves == [(ACCOUNT, FREE), (FREE, ACCOUNT), (ACCOUNT, FREE), (FREE, ACCOUNT)]
    assert len(platform.fresh) == 1 and not repair.someone_else
    sent_again = [r for r in platform.sent[1:] if r.side("old").phone == ACCOUNT and r.side("new").phone == FREE]
    assert [r.changes_account for r in sent_again] == [True]  # a change: the gateway never sends it twice


def test_an_error_answer_reproduced_whose_second_move_back_is_refused_stops_the_run_away_from_home():
    platform = RarerPlatform(moves_on_error=NEW_PHONE_REGISTERED, good_backs=1)
    keeps = keeping(platform)
    _, got = change(platform=platform)
    repair = keeps.after_error_answer(got, got.code)
    assert not repair.done and platform.holds == FREE
    assert "it moved again (reproduced); THE TEST ACCOUNT MAY NOW HOLD" in repair.words
    assert f"moving it back answered {CONTRACT.describe(OLD_PHONE_REFUSED)}; asked, the account holds {FREE}" in (
        repair.words
    )
    assert one_line(repair.stop) and repair.stop.startswith("the account moved although the target answered an error")


def test_an_error_answer_that_moved_the_account_which_cannot_be_moved_back_is_not_sent_again():
    platform = MemoryPlatform(moves_on_error=NEW_PHONE_REGISTERED, stuck=True)
    keeps = keeping(platform)
    _, got = change(platform=platform)
    repair = keeps.after_error_answer(got, got.code)
    assert not repair.done and platform.holds == FREE and platform.fresh == []
    assert repair.words.startswith(
        f"the account moved although the target answered an error: the account moved to {FREE} (asked: {ACCOUNT} "
        f"and {FREE}); THE TEST ACCOUNT MAY NOW HOLD {FREE}"
    )
    assert one_line(repair.stop)


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (CodeUnavailable("none"), "(not sent again: no fresh SMS code to send it with)"),
        (RequestCapReached("spent"), "(not sent again: spent)"),
    ],
)
def test_an_error_answer_that_moved_the_account_not_sent_again_leaves_it_home(fault, said):
    platform = MemoryPlatform(moves_on_error=NEW_PHONE_REGISTERED)
    keeps = keeping(platform)
    request, got = change(platform=platform)
    if isinstance(fault, CodeUnavailable):
        platform.with_fresh_codes = lambda request, held, refused_side=None: (_ for _ in ()).throw(fault)
    else:
        send = platform.send

        def refuses_the_change_sent_again(sent):
            if sent.side("old").phone == ACCOUNT and sent.side("new").phone == FREE:
                raise fault
            return send(sent)

        platform.send = refuses_the_change_sent_again
    repair = keeps.after_error_answer(got, got.code)
    assert repair.done and platform.holds == ACCOUNT and repair.stop is None
    assert repair.words.endswith(f"the suite moved the test account back from {FREE} to {ACCOUNT} {said}")


@pytest.mark.parametrize("success", [False, True])
def test_a_repair_whose_account_cannot_be_asked_after_says_whether_it_may_have_moved(success):
    """After an error answer nothing says the account moved (done, the reason in `where`); after a success it may
    have: not done, with the line that moves it back by hand."""
    keeps = keeper_with(Faulty(RequestCapReached("no request left")), Codes())
    got = answer(move(ACCOUNT, "1", FREE, "2"), SUCCESS if success else UNDOCUMENTED_CODE)
    repair = keeps._repair_after(got, success=success)
    cannot = "the suite cannot ask where the test account is: no request left"
    if success:
        assert not repair.done and repair.words.startswith(f"THE TEST ACCOUNT MAY NOW HOLD {FREE}; {cannot}")
        assert one_line(repair.stop)
    else:
        assert repair.done and repair.words == "" and repair.where == cannot and repair.stop is None


def test_a_success_to_a_request_without_a_new_phone_is_left_to_a_person():
    platform = MemoryPlatform()
    keeps = keeping(platform)
    repair = keeps.after_unexpected_success(move(ACCOUNT, "1", NO_NUMBER, "2"))
    assert not repair.done and repair.words == "the target reported success: check the test account's phone by hand"
    assert keeps.codes.consumed_phones == [ACCOUNT] and platform.sent == []  # the code it sent is spent


def test_a_success_to_a_request_to_the_accounts_own_number_changed_nothing_to_ask_about():
    platform = MemoryPlatform()
    keeps = keeping(platform)
    repair = keeps.after_unexpected_success(move(ACCOUNT, "1", ACCOUNT, "2"))
    assert repair.done and repair.words == f"the target reported success; the account should still hold {ACCOUNT}"
    assert keeps.codes.consumed_phones == [ACCOUNT, ACCOUNT] and platform.sent == []


def test_a_success_that_changed_nothing_spends_the_codes_and_leaves_the_account_home():
    platform = MemoryPlatform(lies=True)
    keeps = keeping(platform)
    request, _ = change(platform=platform)
    repair = keeps.after_unexpected_success(request)
    assert repair.done and platform.moves == [] and keeps.codes.consumed_phones == [ACCOUNT, FREE]
    assert repair.words == (
        f"the target reported success, but nothing changed: the account still holds {ACCOUNT} (and {FREE} is not "
        "the account's)"
    )


def test_a_success_after_which_the_account_holds_neither_number_is_left_to_a_person():
    """Neither number is the account's: nothing is moved back (from where?), the line to do it names the new
    phone."""
    platform = MemoryPlatform(holds=ELSEWHERE)
    keeps = keeping(platform)
    repair = keeps.after_unexpected_success(move(ACCOUNT, "1", FREE, "2"))
    assert not repair.done and platform.holds == ELSEWHERE and platform.moves == []
    assert questions(platform) == [ACCOUNT, FREE] and len(platform.sent) == 2
    assert repair.words.startswith(
        f"THE TEST ACCOUNT MAY NOW HOLD {FREE}; the target reported success, and the account answers to none of the "
        f"numbers the suite asked ({ACCOUNT} and {FREE}). Set it back to {ACCOUNT} by hand"
    )
    assert one_line(repair.stop)


def test_a_success_to_a_number_nobody_can_ask_about_is_moved_back_from_it():
    platform = MemoryPlatform()
    keeps = keeping(platform)
    request = move(ACCOUNT, "1", UNREACHABLE, "2")
    platform.send(request)
    repair = keeps.after_unexpected_success(request)
    assert repair.done and platform.holds == ACCOUNT and questions(platform) == [ACCOUNT]
    assert repair.words == (
        f"the target reported success, so the account may have moved to {UNREACHABLE} ({ACCOUNT}: not the "
        f"account's; {UNREACHABLE}: cannot be asked (no SMS code reaches a number with control characters)); "
        f"the suite moved the test account back from {UNREACHABLE} to {ACCOUNT}"
    )


@pytest.mark.parametrize(
    "request_",
    [move(ACCOUNT, "1", ACCOUNT, "2"), move(ACCOUNT, "1", NO_NUMBER, "2")],
    ids=["to-its-own-number", "to-no-number"],
)
def test_a_lost_answer_to_a_request_that_could_not_move_the_account_asks_nothing(request_):
    platform = MemoryPlatform()
    keeps = keeping(platform)
    with pytest.raises(CannotJudge, match=f"^{LOST}; {COULD}: the request could not move the account$"):
        keeps.after_lost(request_, LOST, COULD)
    assert platform.sent == [] and keeps.run.stopped is None


def test_a_lost_answer_without_an_account_asks_nothing():
    platform = MemoryPlatform()
    keeps = keeping(platform, account=None)
    assert keeps.after_lost_answer(move(FREE, "1", ELSEWHERE, "2")).done and platform.sent == []


def test_a_lost_answer_that_moved_nothing_says_the_account_is_home():
    platform = MemoryPlatform()
    keeps = keeping(platform)
    with pytest.raises(CannotJudge, match=f"{COULD}: the test account holds {ACCOUNT}, as it should$"):
        keeps.after_lost(move(ACCOUNT, "1", FREE, "2"), LOST, COULD)
    assert keeps.run.stopped is None and platform.moves == [] and questions(platform) == [ACCOUNT]


def test_a_lost_answer_that_moved_the_account_beyond_a_move_back_stops_the_run_in_one_line():
    platform = MemoryPlatform(lost_moves=True, stuck=True)
    keeps = keeping(platform)
    request, _ = change(platform=platform)
    with pytest.raises(CannotJudge):
        keeps.after_lost(request, LOST, COULD)
    stopped = keeps.run.stopped
    assert platform.holds == FREE and one_line(stopped)
    assert stopped.startswith(
        f"{LOST}; {COULD}: the answer was lost: the account moved to {FREE} (asked: {ACCOUNT} and {FREE}); "
        f"THE TEST ACCOUNT MAY NOW HOLD {FREE}; moving it back answered {CONTRACT.describe(OLD_PHONE_REFUSED)}; "
        f"asked, the account holds {FREE}. Set it back to {ACCOUNT} by hand"
    )


def test_a_lost_answer_whose_question_the_target_answered_with_success_fails_the_case_with_it():
    """A contract failure found on the way: the case fails with it, what became of the account said after it."""
    keeps = keeping(RarerPlatform(says_success=[ACCOUNT]))
    found = keeps.after_lost(move(ACCOUNT, "1", FREE, "2"), LOST, COULD)
    assert len(found) == 1 and found[0].rule.startswith(f"asked where the test account is: {ACCOUNT} as both")
    assert found[0].more[-1].startswith(f"({LOST}; {COULD}: THE TEST ACCOUNT MAY NOW HOLD {FREE}; the answer was lost")
    # the account may be away: the run stops too, its line saying how to put it back (the case's failure stands)
    assert keeps.run.stopped.startswith(f"{LOST}; {COULD}: THE TEST ACCOUNT MAY NOW HOLD {FREE}")
    assert one_line(keeps.run.stopped)


def test_a_burst_is_asked_after_only_when_it_broke_a_rule_and_could_have_moved_the_account():
    platform = MemoryPlatform()
    keeps = keeping(platform)
    could = move(ACCOUNT, "1", FREE, "2")
    assert keeps.after_burst([answer(could, UNDOCUMENTED_CODE)] * 2, [], won=0) == []
    broken = Failure("the answers differ")
    could_not = move(FREE, "1", ELSEWHERE, "2")
    assert keeps.after_burst([answer(could_not, UNDOCUMENTED_CODE)] * 2, [broken], won=0) == [broken]
    assert platform.sent == []


def test_a_burst_whose_first_answer_says_the_account_was_away_is_reproduced_not_blamed_on_someone_else():
    """A burst's 5174 may be its partner's doing (the partner moved the account first): the keeper reproduces the
    move instead of stopping the run; the repair's words go on the first failure, the others follow."""
    platform = MemoryPlatform(moves_on_error=NEW_PHONE_REGISTERED)
    keeps = keeping(platform)
    request = move(ACCOUNT, "1", FREE, "2")
    mover = platform.send(request)
    partner = platform.send(request)
    assert partner.code == OLD_PHONE_INCORRECT
    first, second = Failure("an error moved it"), Failure("the answers differ")
    found = keeps.after_burst([partner, mover], [first, second], won=0)
    assert len(found) == 2 and found[0].rule == first.rule and found[1] == second
    assert any("it moved again (reproduced)" in line for line in found[0].more)
    assert platform.holds == ACCOUNT and keeps.run.stopped is None
    assert not keeps.run.ledger.account_moved_by_someone_else


def test_a_restore_that_cannot_be_sent_stops_the_run():
    platform = MemoryPlatform(holds=FREE)
    keeps = keeper_with(platform, Codes(fault=CodeUnavailable("no code for it")))
    with pytest.raises(CannotJudge):
        keeps.restore(FREE)
    assert keeps.run.stopped.startswith(
        f"cannot judge this case: moving the test account back from {FREE} to {ACCOUNT}: it could not be sent; "
        f"THE TEST ACCOUNT MAY NOW HOLD {FREE}; cannot move it back: no code for it"
    )
    assert platform.sent == [] and platform.holds == FREE


def test_a_restore_whose_answer_was_lost_but_that_moved_the_account_cannot_judge_the_case():
    platform = RarerPlatform(holds=FREE, back_answer="lost")
    keeps = keeping(platform)
    with pytest.raises(CannotJudge) as raised:
        keeps.restore(FREE)
    assert str(raised.value) == (
        f"cannot judge this case: moving the test account back from {FREE} to {ACCOUNT}: closed; "
        f"moving it back answered closed, but the account holds {ACCOUNT} again"
    )
    assert keeps.run.stopped is None and platform.holds == ACCOUNT


def test_a_restore_whose_answer_was_lost_and_that_did_not_move_the_account_stops_the_run():
    platform = RarerPlatform(holds=FREE, back_answer="lost", back_moves=False)
    keeps = keeping(platform)
    with pytest.raises(CannotJudge):
        keeps.restore(FREE)
    assert keeps.run.stopped.startswith(
        f"cannot judge this case: moving the test account back from {FREE} to {ACCOUNT}: closed; "
        f"THE TEST ACCOUNT MAY NOW HOLD {FREE}; moving it back answered closed; asked, the account holds {FREE}"
    )
    assert one_line(keeps.run.stopped) and platform.holds == FREE


def test_a_restore_refused_with_the_account_home_all_the_same_suspects_someone_else():
    platform = RarerPlatform(holds=FREE, back_answer=OLD_PHONE_REFUSED)
    keeps = keeping(platform)
    _, back, failure = keeps.restore(FREE)
    assert back.code == OLD_PHONE_REFUSED and platform.holds == ACCOUNT and keeps.run.stopped is None
    assert failure.rule == (
        f"RESTORE FAILED: moving the test account back from {FREE} to {ACCOUNT} answered "
        f"{CONTRACT.describe(OLD_PHONE_REFUSED)}"
    )
    assert failure.suspect == SOMEONE_ELSE and failure.more[0].startswith(f"Asked, the account holds {ACCOUNT}")


@pytest.mark.parametrize(
    ("refused_with", "can_refresh", "suspect"),
    [
        (OLD_PHONE_REFUSED, True, Suspect(SOURCE, FREE.key)),
        (NEW_PHONE_REFUSED, True, Suspect(SOURCE, ACCOUNT.key)),
        (UNDOCUMENTED_CODE, True, None),
        (OLD_PHONE_REFUSED, False, None),
    ],
)
def test_a_restore_refused_for_a_code_suspects_the_code_source_when_it_gives_fresh_ones(
    refused_with, can_refresh, suspect
):
    """The move back's codes were fetched a moment before: refused for one, the source may be shared with someone
    else; a source that cannot give a fresh code, or another refusal, suspects nothing."""
    platform = RarerPlatform(holds=FREE, back_answer=refused_with, back_moves=False)
    keeps = keeping(platform)
    keeps.codes.can_refresh = can_refresh
    _, _, failure = keeps.restore(FREE)
    assert failure.suspect == suspect and platform.holds == FREE
    assert failure.rule.endswith(f"answered {CONTRACT.describe(refused_with)}") and keeps.run.stopped


def test_a_move_back_answered_without_the_envelope_says_its_status():
    platform = RarerPlatform(holds=FREE, back_answer="no envelope", back_moves=False)
    moved = keeping(platform)._move_back(FREE)
    assert not moved.done and moved.answered == "HTTP 500" and moved.answer.status == 500
    assert f"moving it back answered HTTP 500; asked, the account holds {FREE}" in moved.words


def test_a_move_back_by_hand_gives_the_command_and_the_variables_to_set():
    moved = keeping(MemoryPlatform(holds=FREE), allow_destructive=False)._move_back(FREE)
    lead, command, note = moved.words.split("\n")
    assert command.startswith("  curl -sS -X PUT") and note.startswith("  (masked: set OLD_PHONE_CODE, NEW_PHONE_CODE")
    assert moved.line == f"{lead} {command.strip()} {note.strip()}"
