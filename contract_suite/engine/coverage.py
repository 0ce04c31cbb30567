"""The documented-code coverage table: which codes the run exercised, saw, skipped, or cannot reach."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from contract_suite.openapi.spec import Operation

# The rules of state of the primary operation: what no one request can show, each judged by a hand-written case
# marked `state_rule(name)` (contract_tests/test_state_rules.py). Listed here so that the table says which ones a run
# left unjudged, as it does for the codes.
STATE_RULES = {
    "code-bound-to-its-number": "an SMS code verifies only the number it was sent to, never the request's other one",
    "international-code-in-every-check": (
        "a number is its international code and its digits: the same digits under another international code are "
        "another number, free for the registration and cancellation checks"
    ),
    "one-change-per-pair-of-codes": "the same valid change sent several times at once succeeds exactly once",
}
# What a case's outcome says of its rule, strongest first: the rule's status is that of its strongest outcome
HELD, BROKEN, CANNOT_JUDGE_RULE, SKIPPED = "held", "broken", "cannot judge", "skipped"
RULE_OUTCOMES = (BROKEN, HELD, CANNOT_JUDGE_RULE, SKIPPED)


class Coverage:
    """The primary operation's table; each other judged operation has a Coverage of its own in `operations`,
    and every method routes to it when given that operation's contract."""

    def __init__(self, operation: Operation, others: Iterable[Operation] = (), rules: dict[str, str] | None = None):
        self.operation = operation
        self.rules: dict[str, str] = dict(rules or {})  # the rules of state this table reports: name -> sentence
        # each rule's case outcomes (held, broken, cannot judge, skipped), with why (a skip's or a stop's reason)
        self.rule_outcomes: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.seen: Counter = Counter()
        self.exercised_codes: set[int] = set()
        self.skipped: dict[int, set[str]] = defaultdict(set)
        # codes a case skipped for want of data the profile lacks or the request cap (not the user's choice)
        self.lacking: set[int] = set()
        self.needs: dict[int, set[str]] = defaultdict(set)  # what to add to judge a lacking code, in a few words
        self.notes: set[str] = set()  # rules reported as not applicable to this target, in words
        self.operations: dict[str, Coverage] = {
            c.label: Coverage(c) for c in others if c.documents_codes and c.label != operation.label
        }

    def of(self, operation: Operation | None) -> Coverage | None:
        """The table of this operation (None or the primary: this one; an operation not judged: None)."""
        if operation is None or operation.label == self.operation.label:
            return self
        return self.operations.get(operation.label)

    def saw(self, code: Any, operation: Operation | None = None) -> None:
        table = self.of(operation)
        if code is not None and table is not None:
            table.seen[json.dumps(code)] += 1

    def exercised(self, codes, operation: Operation | None = None) -> None:
        table = self.of(operation)
        if table is not None:
            table.exercised_codes.update(codes)

    def skip(
        self, codes, reason: str, operation: Operation | None = None, *, lacking: bool = False, needs: str | None = None
    ) -> None:
        """Cases expecting these codes were skipped, for this reason; lacking: for want of data or requests (the
        codes then count against the verdict), else by the user's choice."""
        table = self.of(operation)
        for code in codes if table is not None else ():
            table.skipped[code].add(reason)
            if lacking:
                table.lacking.add(code)
                if needs:
                    table.needs[code].add(needs)

    def note(self, text: str) -> None:
        self.notes.add(text)

    def rule_outcome(self, name: str, outcome: str, why: str = "") -> None:
        """A case judging the rule of state `name` ended so (one of RULE_OUTCOMES), for this reason."""
        if outcome not in RULE_OUTCOMES:
            raise ValueError(f"unknown outcome of a rule: {outcome!r}")
        self.rule_outcomes[name].add((outcome, why))

    def merge(self, data: dict) -> None:
        """Add another worker's `state()`."""
        self.seen.update(data["seen"])
        self.exercised_codes.update(data["exercised"])
        for code, reasons in data["skipped"].items():
            self.skipped[int(code)].update(reasons)
        self.lacking.update(data.get("lacking", ()))
        for code, needs in data.get("needs", {}).items():
            self.needs[int(code)].update(needs)
        self.notes.update(data.get("notes", ()))
        for name, outcomes in data.get("rules", {}).items():
            self.rule_outcomes[name].update((outcome, why) for outcome, why in outcomes)
        for label, part in data.get("operations", {}).items():
            if label in self.operations:
                self.operations[label].merge(part)

    def state(self) -> dict:
        state = {
            "seen": dict(self.seen),
            "exercised": sorted(self.exercised_codes),
            "skipped": {c: sorted(r) for c, r in self.skipped.items()},
            "notes": sorted(self.notes),
            "lacking": sorted(self.lacking),
            "needs": {c: sorted(n) for c, n in self.needs.items()},
            "rules": {name: sorted(outcomes) for name, outcomes in self.rule_outcomes.items()},
        }
        if self.operations:
            state["operations"] = {label: part.state() for label, part in self.operations.items()}
        return state

    @property
    def anything(self) -> bool:
        """Whether some case saw, expected or skipped a code, or judged a rule of state, in any operation."""
        return bool(self.seen or self.exercised_codes or self.skipped or self.rule_outcomes) or any(
            part.anything for part in self.operations.values()
        )

    def unjudged_anywhere(self) -> dict[str, dict[int, str]]:
        """`unjudged()` of every operation that leaves codes unjudged, by operation label."""
        found = {label: part.unjudged() for label, part in [(self.operation.label, self), *self.operations.items()]}
        return {label: codes for label, codes in found.items() if codes}

    def unjudged_for_want(self) -> dict[str, dict[int, str]]:
        """The unjudged codes some case skipped for want of profile data or requests, by operation label: a
        partial judgement the user did not choose."""
        found = {
            label: {code: why for code, why in part.unjudged().items() if code in part.lacking}
            for label, part in [(self.operation.label, self), *self.operations.items()]
        }
        return {label: codes for label, codes in found.items() if codes}

    def needed_for_want(self) -> list[str]:
        """What to add (profile keys, options) to judge the codes left unjudged for want of it, in every operation."""
        found: set[str] = set()
        for label, codes in self.unjudged_for_want().items():
            part = self if label == self.operation.label else self.operations[label]
            for code in codes:
                found |= part.needs.get(code, set())
        return sorted(found)

    @property
    def exercisable(self) -> list[int]:
        return sorted(c for c, entry in self.operation.codes.items() if entry.exercisable)

    @property
    def judged(self) -> list[int]:
        """The exercisable documented codes some case of this run expected and got an answer to judge."""
        return [c for c in self.exercisable if c in self.exercised_codes]

    def unjudged(self) -> dict[int, str]:
        """Each exercisable code no case judged, with why (the skip reasons name the profile key to add)."""
        return {
            c: "; ".join(sorted(self.skipped[c])) if c in self.skipped else "no case selected in this run expects it"
            for c in self.exercisable
            if c not in self.exercised_codes
        }

    def rows(self) -> list[dict]:
        rows = []
        for code, entry in sorted(self.operation.codes.items()):
            seen = self.seen.get(json.dumps(code), 0)
            if not entry.exercisable and seen:  # no case can provoke it, yet the target answered it: say so
                status = "not exercisable"
                detail = f"answered {seen} time(s) though no case provokes it on purpose; {entry.provoked_by}"
            elif not entry.exercisable:
                status, detail = "not exercisable", entry.provoked_by
            elif code in self.exercised_codes and seen:
                status, detail = "seen", ""
            elif code in self.exercised_codes:
                status, detail = "exercised, not seen", "cases expected it; the target never answered it"
            elif code in self.skipped:
                status, detail = "skipped", "; ".join(sorted(self.skipped[code]))
            elif seen:
                status, detail = "seen", "only in answers to other cases"
            else:
                status, detail = "not exercised", "no case selected in this run expects it"
            rows.append({"code": code, "name": entry.name, "status": status, "seen": seen, "detail": detail})
        return rows

    def rule_rows(self) -> list[dict]:
        """Each rule of state: judged (it held, or broke), skipped, not judged (the case could not be judged, or
        the run stopped before it) or not run (no case selected judges it), with why."""
        rows = []
        for name, sentence in self.rules.items():
            found = self.rule_outcomes.get(name, set())
            outcomes = {outcome for outcome, _ in found}
            why = {kind: "; ".join(sorted({r for o, r in found if o == kind and r})) for kind in RULE_OUTCOMES}

            if outcomes & {HELD, BROKEN}:
                status = "judged"
                detail = "broken (see the failed case)" if BROKEN in outcomes else "holds"
                left = [f"{kind}: {why[kind]}" for kind in (CANNOT_JUDGE_RULE, SKIPPED) if kind in outcomes]
                detail += "".join(f"; partly {part}" for part in left)
            elif CANNOT_JUDGE_RULE in outcomes:
                status, detail = "not judged", why[CANNOT_JUDGE_RULE] or "its case could not be judged"
            elif SKIPPED in outcomes:
                status, detail = "skipped", why[SKIPPED]
            else:
                status, detail = "not run", "no case selected in this run judges it"
            rows.append({"name": name, "rule": sentence, "status": status, "detail": detail})
        return rows

    def undocumented(self) -> dict[str, int]:
        documented = {json.dumps(c) for c in self.operation.codes}
        return {k: n for k, n in self.seen.items() if k not in documented}
