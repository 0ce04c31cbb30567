"""Unit tests of contract_suite/engine/before_blame.py: a wrong answer the run's own test data or someone else could
have caused is sent again with fresh SMS codes before blame; a burst of one change is judged (exactly one success)."""

from __future__ import annotations

import dataclasses

import pytest

from contract_suite.engine.before_blame import BeforeBlame
from contract_suite.engine.evidence import SOURCE, STATIC, Suspect
from contract_suite.engine.exchange import Resent
from contract_suite.http.transport import RequestCapReached
from contract_suite.target_data.sms_codes import CodeSourceBroken
from tests.support.engine_fakes import ACCOUNT, CONTRACT, FREE, ScriptedSender, answer, fake_run, lost, move

pytestmark = pytest.mark.selftest

SUCCESS = CONTRACT.success_code
INCORRECT = CONTRACT.code_named("old-phone-incorrect")
REGISTERED = CONTRACT.code_named("new-phone-registered")
OLD_REFUSED = CONTRACT.code_named("old-phone-verification-failed")
NEW_REFUSED = CONTRACT.code_named("new-phone-verification-failed")
REQUEST = move(ACCOUNT, "1", FREE, "2")
# the tries the stack records when a held code was refused, and fresh ones too, four sends in all
REFUSED_AGAIN = Resent(ACCOUNT, answer(REQUEST, OLD_REFUSED), True, 4)


class Top(ScriptedSender):
    """The top of the stack: answers in turn, renews codes by marking the request, names no suspect but the
    source's when a fresh code was refused again."""

    def __init__(self, *codes):
        replies = list(codes)
        super().__init__(lambda request: answer(request, replies.pop(0) if len(replies) > 1 else replies[0]))
        self.renewed: list[object] = []

    def again_with_fresh_codes(self, got):
        self.renewed.append(got)
        return dataclasses.replace(got.request, values={**got.request.values})

    def suspect(self, got, expected, resent):
        return Suspect(SOURCE, resent.phone.key) if resent is not None and resent.refused_again else None


class Environment:
    def __init__(self):
        self.checked = []

    def endpoint_spoke(self, got):
        self.checked.append(got)


class Account:
    """The keeper's one question here: is the account away? (never, in these tests)"""

    account = ACCOUNT

    def __init__(self):
        self.asked = 0

    def confirm_out_of_step(self):
        self.asked += 1


def blame(top, account=None):
    run = fake_run()
    return BeforeBlame(run, top, Environment(), account), run


def test_a_right_answer_is_not_sent_again():
    top = Top(SUCCESS)
    checks, _ = blame(top)
    got = answer(REQUEST, INCORRECT)
    assert checks.judge_one(got, {INCORRECT}, "rule") == (got, None) and top.sent == []


def test_a_wrong_answer_about_the_account_that_does_not_come_again_is_someone_elses():
    top = Top(SUCCESS)
    checks, run = blame(top)
    judged, failure = checks.judge_one(answer(REQUEST, INCORRECT), {SUCCESS}, "rule")
    assert failure is None and judged.code == SUCCESS and len(top.sent) == 1 and top.sent[0].changes_account
    assert run.ledger.codes.unreproduced == 1


def test_a_wrong_answer_about_the_account_that_comes_again_fails_saying_so():
    top = Top(INCORRECT)
    account = Account()
    checks, run = blame(top, account)
    judged, failure = checks.judge_one(answer(REQUEST, INCORRECT), {SUCCESS}, "rule")
    assert len(top.sent) == 2 and account.asked == 2  # at most two tries, the account asked before each
    assert (
        failure.more[-1]
        == f"sent again with fresh SMS codes after {CONTRACT.describe(INCORRECT)}: the same wrong answer came"
    )
    assert run.ledger.codes.unreproduced == 0


def test_a_wrong_answer_about_the_account_then_another_wrong_one_is_counted_and_said():
    top = Top(REGISTERED)
    checks, run = blame(top)
    _, failure = checks.judge_one(answer(REQUEST, INCORRECT), {SUCCESS}, "rule")
    assert len(top.sent) == 1 and run.ledger.codes.unreproduced == 1
    assert failure.more[-1].endswith(f"answered {CONTRACT.describe(REGISTERED)}")


def test_a_wrong_answer_of_another_kind_is_not_sent_again():
    top = Top(SUCCESS)
    checks, _ = blame(top)
    _, failure = checks.judge_one(answer(REQUEST, NEW_REFUSED), {SUCCESS}, "rule")
    assert failure is not None and top.sent == []


def test_a_refused_fresh_code_names_its_suspect_and_says_each_try():
    top = Top(SUCCESS)
    checks, _ = blame(top)
    got = dataclasses.replace(answer(REQUEST, OLD_REFUSED), resent=REFUSED_AGAIN)
    _, failure = checks.judge_one(got, {SUCCESS}, "rule")
    assert failure.suspect == Suspect(SOURCE, ACCOUNT.key)
    assert failure.more[-1].startswith(
        f"sent 4 times: first with the SMS code held for {ACCOUNT}, answered {OLD_REFUSED}"
    )


def test_a_burst_with_exactly_one_success_holds():
    checks, _ = blame(Top(SUCCESS))
    answers = [answer(REQUEST, SUCCESS), answer(REQUEST, OLD_REFUSED)]
    judged, found, won = checks.judge_burst(answers, {OLD_REFUSED}, "rule")
    assert (found, won) == ([], 1) and judged == answers


def test_a_burst_with_two_successes_fails_counting_them():
    checks, _ = blame(Top(SUCCESS))
    answers = [answer(REQUEST, SUCCESS), answer(REQUEST, SUCCESS)]
    _, found, won = checks.judge_burst(answers, {OLD_REFUSED}, "rule")
    assert won == 2 and found[0].actual == f"2 of 2 succeeded (answers: {SUCCESS} x2)"
    assert found[0].more[0] == "(the same request sent 2 times at one moment, each on its own connection)"


def test_a_burst_with_no_success_about_the_account_is_sent_again_once():
    top = Top(SUCCESS, OLD_REFUSED)
    checks, run = blame(top)
    answers = [answer(REQUEST, INCORRECT), answer(REQUEST, REGISTERED)]
    judged, found, won = checks.judge_burst(answers, {OLD_REFUSED}, "rule")
    assert top.bursts == [2] and won == 1 and found == [] and run.ledger.codes.unreproduced == 1
    assert [a.code for a in judged] == [SUCCESS, OLD_REFUSED]


def test_the_same_wrong_answer_of_a_burst_is_one_failure_saying_how_many():
    checks, _ = blame(Top(SUCCESS))
    answers = [answer(REQUEST, 99999), answer(REQUEST, 99999), answer(REQUEST, SUCCESS)]
    _, found, won = checks.judge_burst(answers, {OLD_REFUSED}, "rule")
    assert won == 1 and len(found) == 1 and found[0].more[-1] == "(the same for 2 of the 3 answers)"


def test_a_burst_with_no_success_sent_again_says_so_counts_first_and_names_its_suspect():
    top = Top(INCORRECT)
    checks, _ = blame(top)
    answers = [
        dataclasses.replace(answer(REQUEST, INCORRECT), resent=REFUSED_AGAIN),
        answer(REQUEST, INCORRECT),
    ]
    _, found, won = checks.judge_burst(answers, {OLD_REFUSED}, "rule")
    assert won == 0 and top.bursts == [] and found[0].actual.startswith("0 of 2 succeeded")
    assert found[0].suspect == Suspect(SOURCE, ACCOUNT.key)  # read from the burst's first answer
    top = Top(INCORRECT)
    checks, _ = blame(top)
    _, found, _ = checks.judge_burst([answer(REQUEST, INCORRECT), answer(REQUEST, REGISTERED)], {OLD_REFUSED}, "rule")
    assert top.bursts == [2] and found[0].actual.startswith("0 of 2 succeeded")
    said = f"sent again at once with fresh SMS codes after {INCORRECT} x1, {REGISTERED} x1: the same wrong answers came"
    assert found[0].more[-1] == said and found[0].suspect is None


def test_a_burst_with_a_success_among_answers_about_the_account_is_not_sent_again():
    top = Top(SUCCESS)
    checks, _ = blame(top)
    _, found, won = checks.judge_burst([answer(REQUEST, SUCCESS), answer(REQUEST, INCORRECT)], {OLD_REFUSED}, "rule")
    assert top.bursts == [] and won == 1 and len(found) == 1
    assert found[0].more == ()  # one wrong answer: no "the same for" line


def test_a_refused_fresh_code_before_a_wrong_answer_about_the_account_stays_its_suspect():
    top = Top(INCORRECT)
    checks, _ = blame(top)
    got = dataclasses.replace(answer(REQUEST, INCORRECT), resent=REFUSED_AGAIN)
    _, failure = checks.judge_one(got, {SUCCESS}, "rule")
    assert failure.suspect == Suspect(SOURCE, ACCOUNT.key)


class Failing(Top):
    def __init__(self, failure):
        super().__init__(SUCCESS)
        self.failure = failure

    def send(self, request):
        raise self.failure


@pytest.mark.parametrize("failure", [RequestCapReached("spent"), CodeSourceBroken("broken")])
def test_no_request_left_or_no_code_judges_the_first_answer_after_one_try(failure):
    top = Failing(failure)
    checks, _ = blame(top)
    judged, found = checks.judge_one(answer(REQUEST, INCORRECT), {SUCCESS}, "rule")
    assert judged.code == INCORRECT and found is not None and len(top.renewed) == 1


def test_a_lost_answer_sent_again_ends_the_tries():
    top = Top(SUCCESS)
    top.reply = lambda request: lost(request)
    checks, _ = blame(top)
    judged, found = checks.judge_one(answer(REQUEST, INCORRECT), {SUCCESS}, "rule")
    assert judged.code == INCORRECT and len(top.sent) == 1 and found is not None


def test_the_count_comes_first_and_a_burst_that_won_names_no_suspect():
    checks, _ = blame(Top(SUCCESS))
    answers = [
        dataclasses.replace(answer(REQUEST, SUCCESS), resent=REFUSED_AGAIN),
        answer(REQUEST, SUCCESS),
        answer(REQUEST, 99999),
        answer(REQUEST, 99998),
    ]
    _, found, won = checks.judge_burst(answers, {OLD_REFUSED}, "rule")
    assert won == 2 and len(found) == 3 and found[0].actual.startswith("2 of 4 succeeded")
    assert all(failure.suspect is None for failure in found)  # a burst that made the change says nothing of codes


class RefusingAgain(Top):
    """The stack's burst sent again with fresh codes, each refused again: the stack records the tries on the
    burst's first answer only."""

    def send_at_once(self, request, times):
        answers = super().send_at_once(request, times)
        return [dataclasses.replace(answers[0], resent=REFUSED_AGAIN), *answers[1:]]


def test_the_tries_of_a_burst_sent_again_are_read_from_its_first_answer():
    """A burst about the account sent again, its fresh codes refused again: the suspect (the code source) comes from
    the tries the stack put on the first answer of the burst sent again, not from another one."""
    top = RefusingAgain(OLD_REFUSED)
    checks, _ = blame(top)
    first = [answer(REQUEST, INCORRECT), answer(REQUEST, INCORRECT), answer(REQUEST, INCORRECT)]
    answers, found, won = checks.judge_burst(first, {OLD_REFUSED}, "rule")
    assert top.bursts == [3] and won == 0 and answers[0].resent is REFUSED_AGAIN
    assert found[0].actual.startswith("0 of 3 succeeded") and found[0].suspect == Suspect(SOURCE, ACCOUNT.key)
    assert found[0].more[-1].startswith(f"sent again at once with fresh SMS codes after {INCORRECT} x3")


# -- a request whose answer needed no code to pass, answered with a refusal of a held code ----------------------

MISSING = CONTRACT.required_parameters[0].missing_code


class HeldCodes:
    """A [codes] command holding one code per number; each fetch a new one (the one before void)."""

    can_refresh = True
    codes_go_stale = False

    def __init__(self, failure: Exception | None = None):
        self.current = {ACCOUNT.key: "100000", FREE.key: "200000"}
        self.fetched: list[str] = []
        self.failure = failure

    def held(self, phone):
        return self.current.get(phone.key)

    def refresh(self, phone):
        if self.failure is not None:
            raise self.failure
        self.fetched.append(phone.key)
        self.current[phone.key] = str(int(self.current[phone.key]) + 1)
        return self.current[phone.key]


def needing_no_code(*replies, failure=None):
    """BeforeBlame over the real RefusedCodes layer, over a target answering `replies` in turn; the first answer,
    to a request with a parameter missing (it needs no code to pass) carrying the held codes."""
    from contract_suite.engine.refused_codes import RefusedCodes

    codes = HeldCodes(failure)
    run = fake_run(codes)
    answers = list(replies)

    def reply(request):
        given = answers.pop(0) if len(answers) > 1 else answers[0]  # the last reply, again and again
        return given(request) if callable(given) else answer(request, given)

    inner = ScriptedSender(reply)
    layer = RefusedCodes(run, inner)
    request = dataclasses.replace(move(ACCOUNT, "100000", FREE, "200000"), codes_must_pass=False)
    first = layer.send(request)
    return BeforeBlame(run, layer, Environment()), first, inner, codes


def test_a_refused_held_code_it_did_not_need_is_sent_again_with_a_fresh_one_before_blame():
    checks, first, inner, codes = needing_no_code(OLD_REFUSED, MISSING)
    assert first.code == OLD_REFUSED and len(inner.sent) == 1  # the stack did not fetch for it
    judged, failure = checks.judge_one(first, {MISSING}, "rule")
    assert failure is None and judged.code == MISSING and codes.fetched == [ACCOUNT.key]
    assert inner.sent[1].codes_must_pass and inner.sent[1].side("old").code == "100001"
    assert inner.sent[1].side("new").code == "200000"  # only the refused number's code


def test_the_same_wrong_answer_after_a_fresh_code_fails_saying_so():
    checks, first, _, _ = needing_no_code(OLD_REFUSED, OLD_REFUSED, OLD_REFUSED)
    judged, failure = checks.judge_one(first, {MISSING}, "rule")
    assert failure is not None and judged is not first
    said = f"sent again after {CONTRACT.describe(OLD_REFUSED)} to the SMS code held for a number: the same wrong"
    assert any(line.startswith(said) for line in failure.more), failure.more
    checks, first, _, _ = needing_no_code(OLD_REFUSED, CONTRACT.code_named("new-phone-in-cancellation"))
    _, failure = checks.judge_one(first, {MISSING}, "rule")
    assert failure is not None and not any("the same wrong answer" in line for line in failure.more)


@pytest.mark.parametrize("failure", [RequestCapReached("spent"), CodeSourceBroken("failed")])
def test_no_fresh_code_or_no_request_left_judges_the_first_answer(failure):
    checks, first, inner, _ = needing_no_code(OLD_REFUSED, MISSING, failure=failure)
    judged, found = checks.judge_one(first, {MISSING}, "rule")
    assert judged is first and found is not None and len(inner.sent) == 1


def test_a_lost_answer_to_the_fresh_try_judges_the_first_answer():
    checks, first, inner, _ = needing_no_code(OLD_REFUSED, lambda request: lost(request))
    judged, found = checks.judge_one(first, {MISSING}, "rule")
    assert judged is first and found is not None and len(inner.sent) == 2


def test_a_budget_spent_on_the_fresh_try_is_not_a_verdict():
    from contract_suite.target_data.sms_codes import CodeBudgetSpent

    checks, first, _, _ = needing_no_code(OLD_REFUSED, MISSING, failure=CodeBudgetSpent("spent"))
    with pytest.raises(CodeBudgetSpent):
        checks.judge_one(first, {MISSING}, "rule")


def test_an_answer_needing_codes_or_already_sent_again_or_refusing_no_held_code_is_not_sent_again():
    checks, first, inner, _ = needing_no_code(CONTRACT.code_named("new-phone-in-cancellation"))
    checks.judge_one(first, {MISSING}, "rule")  # no held code refused: nothing to fetch
    assert len(inner.sent) == 1
    checks, first, inner, _ = needing_no_code(OLD_REFUSED)
    resent = dataclasses.replace(first, resent=REFUSED_AGAIN)
    checks.judge_one(resent, {MISSING}, "rule")  # the stack already sent it again
    assert len(inner.sent) == 1
    checks, first, inner, _ = needing_no_code(OLD_REFUSED)
    must = dataclasses.replace(first, request=dataclasses.replace(first.request, codes_must_pass=True))
    checks.judge_one(must, {MISSING}, "rule")  # its codes had to pass: the stack's business, not blamed again
    assert len(inner.sent) == 1


def test_a_static_codes_burst_names_the_number_its_first_answer_refused():
    """Static codes (no fresh ones): a burst with no success whose first answer refuses the original phone's code
    and whose second refuses the new phone's names the first answer's number."""
    from contract_suite.engine.refused_codes import RefusedCodes

    class StaticCodes(HeldCodes):
        can_refresh = False

    codes = StaticCodes()
    run = fake_run(codes)
    replies = [OLD_REFUSED, NEW_REFUSED]
    layer = RefusedCodes(run, ScriptedSender(lambda request: answer(request, replies.pop(0))))
    answers = layer.send_at_once(move(ACCOUNT, "100000", FREE, "200000"), 2)
    checks = BeforeBlame(run, layer, Environment())
    _, found, won = checks.judge_burst(answers, {INCORRECT}, "rule")
    assert won == 0 and [a.code for a in answers] == [OLD_REFUSED, NEW_REFUSED]
    assert found[0].suspect == Suspect(STATIC, ACCOUNT.key)
