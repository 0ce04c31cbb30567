"""One JUnit reader for the self-tests: the outcome and message of each test of a suite run, by node id."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Contract cases that are not hand-written; they may catch a defect too, but the
# "each hand-written case is necessary" check looks at hand-written ones only.
NOT_HAND_WRITTEN = ("contract_tests/test_spec_lint.py", "contract_tests/test_generated.py")


@dataclass(frozen=True)
class Outcome:
    """One contract test's result in a run: passed, failed, error or skipped, and the message."""

    test_id: str
    outcome: str
    message: str = ""


def case_of(test_id: str) -> str:
    """The test function a test id belongs to: its parametrizations are one case."""
    return test_id.partition("[")[0]


def is_hand_written(test_id: str) -> bool:
    return test_id.startswith("contract_tests/") and not test_id.startswith(tuple(f + "::" for f in NOT_HAND_WRITTEN))


def test_id_of(classname: str, name: str) -> str:
    """The pytest node id behind a JUnit testcase: classname is the dotted file path, then any classes."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if (PROJECT_ROOT / path).is_file():
            return "::".join([path, *parts[cut:], name])
    return "::".join([classname.replace(".", "/") + ".py", name])


def read_junit(path: Path) -> dict[str, Outcome]:
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = test_id_of(case.get("classname", ""), case.get("name", ""))
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):  # a failed call outranks a failed teardown
            found = case.find(kind)
            if found is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                # a failure's text is its whole report (the attribute is cut short); a skip's attribute is the reason
                first, second = (
                    (found.get("message"), found.text) if kind == "skipped" else (found.text, found.get("message"))
                )
                message = first or second or ""
                break
        outcomes[test_id] = Outcome(test_id, outcome, message)
    return outcomes
