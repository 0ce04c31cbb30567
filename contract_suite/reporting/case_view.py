"""How a case shows in a report (pytest-html, Allure): its title, its operation and its codes in words, read from
the case's evidence (contract_suite.engine.evidence), never from its message."""

from __future__ import annotations

import pytest

from contract_suite.engine.evidence import CaseEvidence
from contract_suite.engine.exchange import Answer
from contract_suite.engine.settings import Settings
from contract_suite.openapi.spec import Operation


def is_case_outcome(report: pytest.TestReport) -> bool:
    """The report that says how a case went: its call, or its setup when that did not pass (a skip, an error,
    or a case that could not be judged)."""
    return report.when == "call" or (report.when == "setup" and not report.passed)


def operation_of(settings: Settings, evidence: CaseEvidence) -> Operation:
    """The operation the case is about, by the operationId its evidence names (the primary one otherwise)."""
    return next((op for op in settings.operations if op.label == evidence.operation), settings.operation)


def title_of(item: pytest.Item, evidence: CaseEvidence) -> str:
    """The case's rule in words: the first rule it judged; else its docstring's first line, else its name."""
    if evidence.rules:
        return evidence.rules[0]
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip()
    words = doc.splitlines()[0].rstrip(".") if doc else item.originalname.removeprefix("test_").replace("_", " ")
    callspec = getattr(item, "callspec", None)
    return f"{words} [{callspec.id}]" if callspec is not None else words


def code_words(operation: Operation, code: int) -> str:
    entry = operation.codes.get(code)
    return f"{code} {entry.name}" if entry else str(code)


def operation_words(operation: Operation) -> str:
    return f"{operation.method} {operation.path}"


def exchange_title(number: int, answer: Answer) -> str:
    """What one request of a case was, for its attachment's name: the suite's question about the account
    (`where is the account: 86-13800000001 asked, answered 5176`), else the numbers it moved between and the code
    it got (`2. PUT 86-13800000001 to 86-13800000004, answered 5176`)."""
    got = answer.code
    answered = (
        f"answered {got}"
        if got is not None
        else (f"no answer: {answer.failure.kind}" if answer.failure else f"HTTP {answer.status}, no envelope")
    )
    old, new = (answer.request.side(side).phone for side in ("old", "new"))
    old, new = (phone.key if phone else None for phone in (old, new))
    if old and old == new:
        return f"where is the account: {old} asked, {answered}"
    moving = f" {old or '(no original phone)'} to {new or '(no new phone)'}" if old or new else ""
    return f"{number}. {answer.request.sent_method}{moving}, {answered}"
