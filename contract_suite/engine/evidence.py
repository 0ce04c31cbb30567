"""What a case found, as data: each failure with its fields, and the evidence of one case (its operation, the codes
it exercises, the rules it judged, its requests and answers, its failures). The terminal, JUnit, pytest-html and
Allure each render these objects; none parses a message back into fields.

Every string in a Failure is masked when it is made (contract_suite.engine.judging makes them); the exchanges are the
transport's answers, masked when rendered.
"""

from __future__ import annotations

import textwrap
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contract_suite.engine.exchange import Answer


EXCHANGES_KEPT = 8  # the last requests and answers of a case, kept as its evidence
FOLD_WIDTH = 64  # characters a line of a folded failure takes at most (a curl line's parts excepted)
SOURCE, STATIC, ACCOUNT = "source", "static", "account"  # the kinds of Suspect


@dataclass(frozen=True)
class Suspect:
    """What a failure may hinge on besides the target: an SMS code of the [codes] source (SOURCE) or a static code
    (STATIC) refused for `number`, or the test account that someone else changed (ACCOUNT). The verdict weighs it at
    the end of the run."""

    kind: str
    number: str = ""  # the phone's key ("86-13800000001"); "" for ACCOUNT


SOMEONE_ELSE = Suspect(ACCOUNT)


@dataclass(frozen=True)
class Failure:
    """One rule a case found broken: its words, what was expected and what came, and how to send it again."""

    rule: str
    expected: str = ""  # in words, e.g. `5166 "Please enter new phone number"`
    actual: str = ""
    reproduce: str = ""  # a curl command, masked values as shell variables
    masked: str = ""  # which shell variables to set first, e.g. "(masked: set CONTRACT_TOKEN ...)"
    more: tuple[str, ...] = ()  # further lines: what became of the test account, what was sent
    expected_codes: tuple[int, ...] = ()  # the documented codes expected (Allure files the case under them)
    check: str = ""  # the generated layer's check that found it (a custom check's name, or a built-in's code)
    # what the failure may hinge on besides the target (a refused SMS code the run held valid, the account someone
    # else changed): the verdict decides at the end of the run whether the target is wrong
    suspect: Suspect | None = None
    # the curl command folded over several lines, for displays that do not wrap (Allure): bash reads them as one
    reproduce_lines: tuple[str, ...] = ()

    def also(self, *lines: str) -> Failure:
        """This failure with more lines said after it."""
        return replace(self, more=(*self.more, *(line for line in lines if line)))

    def text(self, folded: bool = False) -> str:
        """The failure as the terminal (and JUnit) shows it; folded, for a display that does not wrap long lines
        (Allure): the curl command over several lines from the line's start, the other lines wrapped."""
        if folded:
            return self._folded()
        lines = [self.rule]
        if self.check:
            lines.append(f"  check:    {self.check}")
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.actual:
            lines.append(f"  actual:   {self.actual}")
        if self.reproduce and folded and self.reproduce_lines:
            lines += ["  reproduce:", *self.reproduce_lines]
        elif self.reproduce:
            lines.append(f"  reproduce: {self.reproduce}")
        if self.masked:
            lines.append(f"  {self.masked}")
        lines += [f"  {line}" for line in self.more]
        return "\n".join(lines)

    def _folded(self) -> str:
        def wrapped(text: str, indent: str = "  ") -> list[str]:
            return textwrap.wrap(text, FOLD_WIDTH, initial_indent=indent, subsequent_indent=indent + "  ") or [""]

        lines = wrapped(self.rule, "")
        for label, value in (("check:    ", self.check), ("expected: ", self.expected), ("actual:   ", self.actual)):
            if value:
                lines += wrapped(label + value)
        if self.reproduce_lines:
            lines += ["  reproduce:", *self.reproduce_lines]
        elif self.reproduce:
            lines += wrapped(f"reproduce: {self.reproduce}")
        for line in (self.masked, *self.more):
            if line:
                lines += wrapped(line)
        return "\n".join(lines)


def failures_text(failures: list[Failure], folded: bool = False) -> str:
    return "\n".join(failure.text(folded) for failure in failures)


class CheckFailed(AssertionError):
    """A custom check of the generated layer found a failure (its `check` field names the check): schemathesis
    keeps this exception with its own failure record, so the layer renders the Failure it carries in the suite's
    words."""

    def __init__(self, failure: Failure):
        super().__init__(failure.text())
        self.failure = failure


@dataclass
class CaseEvidence:
    """One case's evidence, made by the plugin before the case runs and filled while it runs."""

    nodeid: str  # the case's pytest node id
    operation: str  # the operationId of the operation the case is about
    codes: tuple[int, ...] = ()  # the documented codes it exercises (its `exercises` marks)
    rules: list[str] = field(default_factory=list)  # each rule it judged, in words
    exchanges: deque[Answer] = field(default_factory=lambda: deque(maxlen=EXCHANGES_KEPT))
    failures: list[Failure] = field(default_factory=list)
    cannot_judge: bool = False  # the case could not be judged: an error of the run, not the contract's
