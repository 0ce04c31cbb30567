"""A new business code takes exactly the places docs/extending.md's table names: in a copy of the project, a code
is added in those files and no other (the spec, the upstream page beside it, a hand-written case, the reference
server, and a broken server for the case to catch), and the copy's suite judges it, its lint is clean, and its
catalogue catches the broken server. A place missing from the table would show as a failure here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contract_suite.openapi import spec

pytestmark = pytest.mark.selftest

EXTENDING = spec.PROJECT_ROOT / "docs" / "extending.md"  # the table of what a new code takes
CODE, NAME = 5177, "new-international-code-unsupported"
MESSAGE = "New phone number international code is not supported"
UNSERVED = "999"  # an international code no country has: the copy's reference server refuses it as the new one

REGISTERED_EXAMPLE = (
    '                  value: {code: 5176, msg: "New phone number already registered", data: null, extMsg: null}\n'
)
PAGE_ROW = "| 5176        | New phone number already registered" + " " * 27 + "|" + " " * 28 + "|\n"
# Each edit: (file, anchor text, replacement). The anchors are lines the project has today; the test fails naming the
# one that moved rather than editing the wrong place.
EDITS = {
    "spec/openapi.yaml": [
        (
            "        | 5176 | new-phone-registered | New phone number already registered |"
            " The new phone is registered to an account (this one included). |\n",
            "        | 5176 | new-phone-registered | New phone number already registered |"
            " The new phone is registered to an account (this one included). |\n"
            f"        | {CODE} | {NAME} | {MESSAGE} | The new phone's international code is not one the platform"
            " serves. |\n",
        ),
        (
            REGISTERED_EXAMPLE,
            REGISTERED_EXAMPLE + f"                {NAME}:\n"
            f'                  summary: "{CODE}: {MESSAGE}"\n'
            f'                  value: {{code: {CODE}, msg: "{MESSAGE}", data: null, extMsg: null}}\n',
        ),
        (
            "          provoked-by: The new phone is registered to an account (this one included).\n",
            "          provoked-by: The new phone is registered to an account (this one included).\n"
            f'        "{CODE}":\n'
            f"          name: {NAME}\n"
            f"          message: {MESSAGE}\n"
            "          provoked-by: The new phone's international code is not one the platform serves.\n",
        ),
        ("5170, 5174, 5175, 5176]", f"5170, 5174, 5175, 5176, {CODE}]"),
    ],
    "spec/knife4j-setPhone.md": [
        (PAGE_ROW, PAGE_ROW + f"| {CODE}        | {MESSAGE}          |                            |\n"),
    ],
    "contract_tests/test_business_rules.py": [],  # the case is appended (NEW_CASE)
    "reference_server/app.py": [
        ("NEW_PHONE_REGISTERED = 5176\n", f"NEW_PHONE_REGISTERED = 5176\nNEW_CODE_UNSERVED = {CODE}\n"),
        (
            '    NEW_PHONE_REGISTERED: "New phone number already registered",\n',
            f'    NEW_PHONE_REGISTERED: "New phone number already registered",\n    NEW_CODE_UNSERVED: "{MESSAGE}",\n',
        ),
        ('        "check_original_phone",\n', '        "check_original_phone",\n        "check_new_code_served",\n'),
        (
            "    def check_new_phone_cancelling(self, call: Call) -> int | None:\n",
            f"    def check_new_code_served(self, call: Call) -> int | None:\n"
            f'        return NEW_CODE_UNSERVED if call.params["newInternationalCode"] == "{UNSERVED}" else None\n\n'
            "    def check_new_phone_cancelling(self, call: Call) -> int | None:\n",
        ),
    ],
    "tests/support/catalogue/business.py": [
        (
            "BROKEN = [\n",
            "class UnservedCodeIsRegistered(SetPhoneService):\n"
            f'    """Answer 5176 (registered) instead of {CODE} when the new international code is not served."""\n\n'
            "    def check_new_code_served(self, call):\n"
            "        return ref.NEW_PHONE_REGISTERED if super().check_new_code_served(call) else None\n\n\n"
            "BROKEN = [\n"
            "    Broken(\n"
            "        UnservedCodeIsRegistered,\n"
            f'        {{BUSINESS + "test_new_international_code_unsupported": (wanted("{NAME}"),)}},\n'
            "        sole=True,\n"
            "    ),\n",
        ),
    ],
}

NEW_CASE = f'''

@pytest.mark.exercises("{NAME}")
def test_new_international_code_unsupported(target, operation):
    free = target.phone("free")
    unserved = Phone("{UNSERVED}", free.phone)
    params = target.change(target.phone("account"), unserved)
    answer = target.call(params, target.token("valid"))
    rule = f"new phone {{unserved}}: its international code is not served"
    target.expect(answer, operation.code_named("{NAME}"), rule)
'''


def project_copy(folder: Path) -> Path:
    """The project's files (what git tracks, and what is not committed yet), without its venv or caches."""
    copy = folder / "project"
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", ".pytest_cache", "*.egg-info", ".tox", "mutants", ".mutation", ".tools"
    )  # (a mutation run rewrites .mutation/ as it goes; .tools/ holds the node tools of the reports)
    shutil.copytree(spec.PROJECT_ROOT, copy, ignore=ignore)
    return copy


def listed_files() -> set[str]:
    """The files docs/extending.md's table says a business code touches (its row "a business code": the edit column)."""
    row = next(
        line for line in EXTENDING.read_text(encoding="utf-8").splitlines() if line.startswith("| a business code |")
    )
    edit_column = row.split(" | ")[1]
    return set(re.findall(r"`([\w./-]+\.(?:py|yaml|md))`", edit_column))


def test_a_new_business_code_takes_the_places_the_readme_names(tmp_path):
    copy = project_copy(tmp_path)
    for relative, edits in EDITS.items():
        path = copy / relative
        text = path.read_text(encoding="utf-8")
        for anchor, replacement in edits:
            assert anchor in text, f"{relative}: the anchor moved; update this test's EDITS: {anchor!r}"
            text = text.replace(anchor, replacement, 1)
        if relative == "contract_tests/test_business_rules.py":
            text += NEW_CASE
        path.write_text(text, encoding="utf-8")
    listed = sorted(listed_files())
    assert listed == sorted(EDITS), f"docs/extending.md lists {listed}; a new code took {sorted(EDITS)}"

    main = run_in(copy, "-m", "pytest", "contract_tests")
    assert main.returncode == 0, main.stdout[-3000:] + main.stderr[-2000:]
    exercisable = sum(entry.exercisable for entry in spec.load(copy / "spec" / "openapi.yaml").codes.values())
    assert exercisable == sum(entry.exercisable for entry in spec.load().codes.values()) + 1
    assert f"judged {exercisable} of {exercisable} exercisable documented codes" in main.stdout, main.stdout[-3000:]
    assert re.search(rf"^ *{CODE}  {NAME} +seen ", main.stdout, re.MULTILINE), main.stdout[-3000:]
    caught = run_in(copy, "-m", "pytest", "tests/test_variants.py", "-k", "UnservedCodeIsRegistered")
    assert caught.returncode == 0 and "1 passed" in caught.stdout, caught.stdout[-3000:] + caught.stderr[-2000:]
    lint = run_in(copy, "-m", "contract_suite.lint", "spec/openapi.yaml", "--knife4j", "spec/knife4j-setPhone.md")
    assert lint.returncode == 0, lint.stdout + lint.stderr


def run_in(copy: Path, *args: str) -> subprocess.CompletedProcess:
    """Python with the copy's code first on the path, in the copy, none of the outer run's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTRACT_", "PYTEST_", "PYTHON"))}
    env["PYTHONPATH"] = str(copy)
    return subprocess.run(
        [sys.executable, *args, *(("-p", "no:cacheprovider") if "pytest" in args else ())],
        cwd=copy, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
