"""The run's ledger: every fact the verdict and the reports read, as typed records, owned by the run and written by
the layer that saw it (the sending stack, the account's keeper, the re-checks before blame, the plugin at the end of
each case). Nothing in it is text for another layer to parse back; it crosses from an xdist worker to the
controller as plain data (`as_data`, `from_data`) and the controller merges the workers' ledgers (`merged`)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from contract_suite.engine.evidence import CaseEvidence, Failure, Suspect


@dataclass
class StaticCodeRecord:
    """What the run saw of one static code."""

    times_refused: int = 0  # requests that carried it and got its number's verification failure
    accepted: bool = False  # a success answered a request that carried it
    refused_after_accepted: bool = False  # refused once the run had seen it accepted (it stopped working)
    # accepted as the run found out: an answer it had carried came after its check (the same request with a wrong
    # code there was refused for it)
    passed_by_order: bool = False


@dataclass
class CodeRecord:
    """What the run saw of the SMS codes it held valid, and what they cost."""

    source: str = "command"  # the [codes] key codes come from: "command", "function", or "static" (no fresh ones)
    asked: int = 0  # codes the source was asked for (each one an SMS on a real platform)
    asked_by_number: dict[str, int] = field(default_factory=dict)  # of those, how many for each number (by key)
    budget: int | None = None  # the run's SMS budget (--max-sms-codes; None: none)
    past_budget: int = 0  # codes asked for past the budget, to put the test account back
    budget_stopped: int = 0  # cases not judged because the budget was spent
    throttled: int = 0  # times the source said "not now" (no SMS sent)
    waited: float = 0.0  # seconds spent waiting for the platform's minimum interval or a throttled source
    refused: int = 0  # held codes the target refused
    refetched: int = 0  # fresh codes fetched for a request sent again
    codes_go_stale: bool = False  # a fresh code passed where the held one was refused: codes expire or are spent
    source_accepted: bool = False  # the target accepted a code from the [codes] source
    # a code fetched a moment before was refused, and a fresher one passed: someone else asks for codes too
    voided_between_fetch_and_use: int = 0
    # a fresh code for one number on both sides of a request was refused at one of its two checks where codes go
    # stale: a check spends the code on this target, and such requests (the account's question) cannot pass
    one_code_cannot_pass_two_checks: bool = False
    # fresh codes refused while the target had accepted none of the source's (the run stops past a few)
    unexplained_refusals: int = 0
    # a wrong answer that depends on the account's state did not come again when the request was sent again
    unreproduced: int = 0
    static: dict[str, StaticCodeRecord] = field(default_factory=dict)  # by the number's key

    def static_of(self, number: str) -> StaticCodeRecord:
        return self.static.setdefault(number, StaticCodeRecord())


@dataclass
class GatewayRecord:
    """What gateways in front of the target cost the run."""

    refusals: Counter = field(default_factory=Counter)  # refusals waited out, by HTTP status
    waited: float = 0.0  # seconds spent waiting them out
    too_large: Counter = field(default_factory=Counter)  # generated requests refused as too large, by HTTP status
    slowed_to: float | None = None  # requests a second the run slowed to after refusals (None: it did not)


@dataclass
class Ledger:
    base_url: str = ""
    stopped: str | None = None  # why the run stopped sending (masked), when it did
    sent: int = 0  # requests sent to the target
    cap_reached: bool = False  # the run's request cap was spent
    answers: int = 0  # whole answers
    envelopes: int = 0  # whole answers that were the endpoint speaking (an envelope, however broken)
    tokens_fetched: int = 0  # tokens the [tokens] command printed during the run
    # the test account moved with no request of this run moving it: someone else uses it
    account_moved_by_someone_else: bool = False
    codes: CodeRecord = field(default_factory=CodeRecord)
    gateway: GatewayRecord = field(default_factory=GatewayRecord)
    failed_codes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # each failed case's documented codes
    # each failed case whose every failure hinges on a suspect, by node id: the suspects
    suspects: dict[str, frozenset[Suspect]] = field(default_factory=dict)
    case: CaseEvidence | None = field(default=None, compare=False)  # the case running now, if any

    # -- written while cases run --

    def note_rule(self, rule: str) -> None:
        """The running case judged this rule (its title in the reports); masked by the caller."""
        if self.case is not None:
            self.case.rules.append(rule)

    def failed(self, *failures: Failure) -> None:
        """The running case found these failures (the reports read them from its evidence); one already recorded
        is not recorded twice."""
        if self.case is not None:
            self.case.failures.extend(f for f in failures if f not in self.case.failures)

    def case_failed(self, nodeid: str, evidence: CaseEvidence) -> None:
        """A case failed on the contract: the codes it exercises, and when every failure it recorded hinges on a
        suspect, the suspects."""
        self.failed_codes[nodeid] = tuple(evidence.codes)
        found = [failure.suspect for failure in evidence.failures]
        if found and None not in found:
            self.suspects[nodeid] = frozenset(found)

    # -- across processes --

    def as_data(self) -> dict[str, Any]:
        data = dataclasses.asdict(dataclasses.replace(self, case=None))
        data.pop("case")
        data["failed_codes"] = {nodeid: list(codes) for nodeid, codes in self.failed_codes.items()}
        data["suspects"] = {
            nodeid: sorted([s.kind, s.number] for s in found) for nodeid, found in self.suspects.items()
        }
        data["gateway"]["refusals"] = [list(item) for item in sorted(self.gateway.refusals.items())]
        data["gateway"]["too_large"] = [list(item) for item in sorted(self.gateway.too_large.items())]
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Ledger:
        codes = dict(data["codes"])
        codes["static"] = {key: StaticCodeRecord(**record) for key, record in codes["static"].items()}
        gateway = dict(data["gateway"])
        gateway["refusals"] = Counter(dict(gateway["refusals"]))
        gateway["too_large"] = Counter(dict(gateway["too_large"]))
        suspects = {
            nodeid: frozenset(Suspect(kind, number) for kind, number in found)
            for nodeid, found in data["suspects"].items()
        }
        failed_codes = {nodeid: tuple(codes) for nodeid, codes in data["failed_codes"].items()}
        rest = {k: v for k, v in data.items() if k not in ("codes", "gateway", "suspects", "failed_codes")}
        return cls(
            **rest,
            codes=CodeRecord(**codes),
            gateway=GatewayRecord(**gateway),
            suspects=suspects,
            failed_codes=failed_codes,
        )


def merged(ledgers: list[Ledger]) -> Ledger:
    """One ledger of several runs' (an xdist run's workers): counts added, flags or-ed, the first stop kept."""
    total = Ledger(base_url=next((ledger.base_url for ledger in ledgers), ""))
    for ledger in ledgers:
        total.stopped = total.stopped or ledger.stopped
        total.sent += ledger.sent
        total.cap_reached |= ledger.cap_reached
        total.answers += ledger.answers
        total.envelopes += ledger.envelopes
        total.tokens_fetched += ledger.tokens_fetched
        total.account_moved_by_someone_else |= ledger.account_moved_by_someone_else
        codes, into = ledger.codes, total.codes
        into.source = codes.source
        into.asked += codes.asked
        for number, count in codes.asked_by_number.items():
            into.asked_by_number[number] = into.asked_by_number.get(number, 0) + count
        into.budget = codes.budget if into.budget is None else into.budget
        into.past_budget += codes.past_budget
        into.budget_stopped += codes.budget_stopped
        into.throttled += codes.throttled
        into.waited += codes.waited
        into.refused += codes.refused
        into.refetched += codes.refetched
        into.codes_go_stale |= codes.codes_go_stale
        into.source_accepted |= codes.source_accepted
        into.voided_between_fetch_and_use += codes.voided_between_fetch_and_use
        into.unreproduced += codes.unreproduced
        into.unexplained_refusals += codes.unexplained_refusals
        into.one_code_cannot_pass_two_checks |= codes.one_code_cannot_pass_two_checks
        for number, record in codes.static.items():
            kept = into.static_of(number)
            kept.times_refused += record.times_refused
            kept.accepted |= record.accepted
            kept.refused_after_accepted |= record.refused_after_accepted
            kept.passed_by_order |= record.passed_by_order
        total.gateway.refusals.update(ledger.gateway.refusals)
        total.gateway.too_large.update(ledger.gateway.too_large)
        total.gateway.waited += ledger.gateway.waited
        total.gateway.slowed_to = ledger.gateway.slowed_to or total.gateway.slowed_to
        total.suspects.update(ledger.suspects)
        total.failed_codes.update(ledger.failed_codes)
    return total
