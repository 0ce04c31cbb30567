"""SMS codes the target refused although the run held them valid: blame only what reproduces.

A request that carried a code the run holds as valid for a number, answered with that number's verification
failure, is sent once more with a code fetched a moment before: its answer is the case's. When the fresh code is
refused too, each further try waits a random, growing moment first (once the target has accepted a code from the
source): another run fetching codes for the same numbers voids the codes this run fetched, and two runs of one
suite move in step until one of them waits. Once a fresh code passes where the held one was refused, codes on this
target are short-lived or spent by a check, and the code source hands out a fresh code for every use from then on.
What the refusals say of the source (the [codes] command or a static code) is kept as plain data for the verdict:
a refusal nothing in the run can tell from a source that feeds another system is "cannot judge", not "broken".
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from contract_suite.engine.judging import envelope_code
from contract_suite.http.transport import Answer, Request
from contract_suite.openapi.spec import Operation
from contract_suite.testdata.profile import Phone
from contract_suite.testdata.sms_codes import CodeSource, CodeSourceBroken, CodeUnavailable

SIDES = ("old", "new")
REFUSAL_NAMES = {"old": "old-phone-verification-failed", "new": "new-phone-verification-failed"}
# Expected codes of cases whose one fault is a missing parameter or the token: their answers say nothing of a code.
NOT_ABOUT_CODES = ("token-verification-failed", "user-does-not-exist")
TRIES = 4  # sends in all of a request whose valid codes the target refuses: the first, then with fresh codes
KEPT_REQUESTS = 16  # requests whose held codes, and answers whose tries, are remembered (until read)
SOURCE, STATIC = "source", "static"  # the two kinds of suspect: the [codes] command, a [codes] static value
# After a fresh code was refused, the next try waits a random moment of up to this, doubled for each try after:
# long enough to fall out of step with another run's fetches (a fetch and a send take tens of milliseconds).
RETRY_PAUSE_SECONDS = 0.2


@dataclass(frozen=True)
class Resent:
    """A request sent again with a fresh code after its held one was refused."""

    phone: Phone
    first: Answer  # the answer to the first try
    refused_again: bool  # the fresh code was refused too
    sends: int = 2  # how many times the request was sent in all


@dataclass
class StaticRecord:
    """What the run saw of one static code (plain data: it crosses from xdist workers)."""

    refusals: int = 0  # requests that carried it and got its number's verification failure
    accepted: bool = False  # a success answered a request that carried it
    refused_after_accepted: bool = False  # refused once the run had seen it accepted (it stopped working)


class CodeRefusals:
    def __init__(
        self,
        operation: Operation,
        codes: CodeSource,
        pause: Callable[[float], None] = time.sleep,
        chance: random.Random | None = None,
    ):
        self.operation = operation
        self.codes = codes
        self._pause = pause  # waits before a try after a fresh code was refused (RETRY_PAUSE_SECONDS)
        self._chance = chance or random.Random()
        self.refused = 0  # held codes the target refused
        self.refetched = 0  # fresh codes fetched for a request sent again
        self.source_accepted = False  # the target accepted a code from the [codes] command (a success, or a pass)
        # a code fetched a moment before was refused, and a fresher one passed: someone else asks for codes too
        self.voided_between_fetch_and_use = 0
        # a wrong answer that depends on the account's state did not come again when the request was sent again
        self.unreproduced = 0
        self.static: dict[str, StaticRecord] = {}
        # by id() of the last answer, with the answer (an id is reused once its object is gone): until the case
        # reads it, the last few (the answers of the account's questions are never read)
        self._resent: dict[int, tuple[Answer, Resent]] = {}
        self._held_when_sent: dict[int, tuple[Request, dict[str, Phone]]] = {}  # by id() of the request, the last few
        missing = {p.missing_code for p in operation.required_parameters if p.missing_code is not None}
        self._not_about_codes = missing | {
            operation.code_named(name) for name in NOT_ABOUT_CODES if operation.names_codes(name)
        }

    # -- reading a request --

    def _phone_and_code(self, params: dict[str, str], side: str) -> tuple[Phone | None, str | None]:
        ic = params.get(self.operation.parameter_with_role(f"{side}.international_code").name)
        number = params.get(self.operation.parameter_with_role(f"{side}.phone").name)
        code = params.get(self.operation.parameter_with_role(f"{side}.code").name)
        return (Phone(ic, number) if ic and number else None), code

    def held(self, request: Request) -> dict[str, Phone]:
        """The sides of a request (old, new) whose code is the one the run holds as valid for the side's number."""
        if request.method != self.operation.method or not urlsplit(request.url).path.endswith(self.operation.path):
            return {}
        params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        found = {}
        for side in SIDES:
            phone, code = self._phone_and_code(params, side)
            if phone is not None and code and code == self.codes.held(phone):
                found[side] = phone
        return found

    def refused_side(self, answer: Answer, held: dict[str, Phone]) -> str | None:
        """The side whose held code the answer refuses (that number's verification failure), or None."""
        if answer.failure is not None:
            return None
        got = envelope_code(answer)
        return next((s for s in held if got == self.operation.code_named(REFUSAL_NAMES[s])), None)

    # -- sending --

    def send(self, request: Request, send: Callable[[Request], Answer]) -> Answer:
        """Send; when the answer refuses a held code and the source can give others, fetch fresh codes for the
        request's numbers and send it again (at most TRIES sends in all): the last answer is returned."""
        return self._send(request, lambda sent: [send(sent)])[0]

    def send_burst(self, request: Request, send: Callable[[Request], list[Answer]]) -> list[Answer]:
        """The same for a burst of one request sent several times at once: only a burst with no success says
        anything of the codes (once one made the change, the others may fairly be refused)."""
        return self._send(request, send)

    def held_when_sent(self, request: Request) -> dict[str, Phone]:
        """The sides of a request sent through this object that carried held codes when it was sent (a success
        may have spent them since)."""
        kept = self._held_when_sent.get(id(request))
        return dict(kept[1]) if kept is not None and kept[0] is request else self.held(request)

    def _keep(self, request: Request, held: dict[str, Phone]) -> None:
        self._held_when_sent[id(request)] = (request, held)
        while len(self._held_when_sent) > KEPT_REQUESTS:
            self._held_when_sent.pop(next(iter(self._held_when_sent)))

    def _send(self, request: Request, send: Callable[[Request], list[Answer]]) -> list[Answer]:
        held = self.held(request)
        fetched_for_this_use = self.codes.fresh_each_use  # its codes were fetched a moment before, as fresh ones
        answers = send(request)
        if not held:
            return answers
        self._keep(request, held)
        self._seen(answers, held)
        side = self._refused(answers, held)
        if side is None:
            return answers
        first = answers[0]
        self.refused += 1
        if not self.codes.can_refresh:
            record = self.static.setdefault(held[side].key, StaticRecord())
            record.refusals += 1
            record.refused_after_accepted |= record.accepted
            return answers
        refused_fresh, sends = fetched_for_this_use, 1
        for _ in range(TRIES - 1):
            # Out of step with whoever voids the codes: a random moment, longer each try. Only once the target
            # accepted a code from this source: a source that feeds another system has no one to wait for.
            if refused_fresh and self.source_accepted:
                self._pause(self._chance.uniform(0, RETRY_PAUSE_SECONDS * 2 ** (sends - 2)))
            try:
                again = self._with_fresh_codes(request, held, refused_side=side)
            except (CodeUnavailable, CodeSourceBroken):
                break  # the case judges the answer it has; a broken source stops the run at its next use
            request, held = again, self.held(again)
            answers, sends = send(again), sends + 1
            self._keep(request, held)
            self._seen(answers, held)
            now = self._refused(answers, held)
            if now is None:  # a fresh code passed where the held one was refused: codes go stale on this target
                self.codes.fresh_each_use = True
                self.source_accepted = True  # ...and the source's codes are this target's
                self.voided_between_fetch_and_use += refused_fresh
                break
            side, refused_fresh = now, True
            self.refused += 1
        if answers and sends > 1:
            refused = self._refused(answers, held) is not None
            self._resent[id(answers[0])] = (answers[0], Resent(held[side], first, refused, sends))
            while len(self._resent) > KEPT_REQUESTS:
                self._resent.pop(next(iter(self._resent)))
        return answers

    def again_with_fresh_codes(self, request: Request) -> Request:
        """The same request once more, with fresh codes where it carried valid ones when it was sent (a wrong
        answer that depends on the state of the account or the numbers is reproduced before blame)."""
        held = self.held_when_sent(request)
        if not held or not self.codes.can_refresh:
            return request
        try:
            return self._with_fresh_codes(request, held)
        except (CodeUnavailable, CodeSourceBroken):
            return request

    def _refused(self, answers: list[Answer], held: dict[str, Phone]) -> str | None:
        """The side whose held code a burst of answers (or one) refuses, when none of them is success."""
        if any(envelope_code(a) == self.operation.success_code for a in answers):
            return None
        return next(filter(None, (self.refused_side(a, held) for a in answers)), None)

    def _with_fresh_codes(self, request: Request, held: dict[str, Phone], refused_side: str | None = None) -> Request:
        """The same request with a freshly fetched code for each of its numbers whose held code it carried; the
        refused side's number last, so that its code is the freshest when the request leaves (where someone else
        asks for codes for the same number, each code fetched voids the one before). The codes replaced are the
        ones the request carries: the run may hold newer ones since (a question about the account fetched one)."""
        params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        ordered = sorted(held.items(), key=lambda item: item[0] == refused_side)
        fresh: dict[str, str] = {}
        for phone in {phone.key: phone for _, phone in ordered}.values():  # one fresh code per number
            code = self.codes.refresh(phone)
            self.refetched += 1
            for side, on_side in held.items():
                if on_side == phone:
                    fresh[params[self.operation.parameter_with_role(f"{side}.code").name]] = code
        return with_codes_replaced(request, self.operation, fresh)

    def _seen(self, answers: list[Answer], held: dict[str, Phone]) -> None:
        """A success to a request carrying held codes: the target accepted them."""
        if not any(a.failure is None and envelope_code(a) == self.operation.success_code for a in answers):
            return
        if self.codes.can_refresh:
            self.source_accepted = True
        else:
            for phone in held.values():
                self.static.setdefault(phone.key, StaticRecord()).accepted = True

    # -- what a case's judgement says --

    def resent(self, answer: Answer) -> Resent | None:
        """The first try of a request this answer answered a second time (read once)."""
        kept = self._resent.get(id(answer))
        if kept is None or kept[0] is not answer:
            return None
        return self._resent.pop(id(answer))[1]

    def suspect(self, answer: Answer, expected: set[int], resent: Resent | None) -> str:
        """For a case whose answer is wrong: the code source it hinges on (`source:<number>` for a fresh code
        from the command refused again; `static:<number>` for a static code refused by a business case), or ""
        when the wrong answer is the target's whatever the codes."""
        if resent is not None:
            return f"{SOURCE}:{resent.phone.key}" if resent.refused_again else ""
        if self.codes.can_refresh or expected & self._not_about_codes:
            return ""
        held = self.held(answer.request)
        side = self.refused_side(answer, held)
        return f"{STATIC}:{held[side].key}" if side is not None else ""

    def state(self) -> dict:
        """What the verdict needs (plain data)."""
        return {
            "refused": self.refused,
            "refetched": self.refetched,
            "fresh_each_use": self.codes.fresh_each_use,
            "source_accepted": self.source_accepted,
            "voided_between_fetch_and_use": self.voided_between_fetch_and_use,
            "unreproduced": self.unreproduced,
            "static": {k: dataclasses.asdict(r) for k, r in self.static.items()},
        }


def with_codes_replaced(request: Request, operation: Operation, codes: dict[str, str]) -> Request:
    """The same request with each SMS code `codes` maps (the one sent, to the one to send) replaced wherever it
    stands among the operation's code parameters (a case may send a number's code as the other number's)."""
    base, _, query = request.url.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    for side in SIDES:
        name = operation.parameter_with_role(f"{side}.code").name
        if params.get(name) in codes:
            params[name] = codes[params[name]]
    return Request.build(request.method, base, params, request.headers)
