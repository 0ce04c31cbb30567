"""The README's CI recipe, run as written under `bash -e` (the default shell of common CI runners): it reaches its
`case` and prints the HOLDS branch against a correct deployment (the reference server), and blocks (exit 1) against
a broken one."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from contract_suite.openapi.spec import PROJECT_ROOT
from reference_server import create_app, start_embedded
from reference_server.defects import BY_NAME
from tests.support.suite import PROFILE

pytestmark = pytest.mark.selftest

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
RECIPE = re.search(r"A CI gate:.*?```sh\n(.*?)```", README, re.S).group(1)
QUICK = "-p no:cacheprovider -m 'not generated and not lint'"  # the same judgement of the codes, quicker


def run_recipe(tmp_path, url: str, profile: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The recipe with the two paths a job gives it (its profile, its reports' folder) pointed into tmp_path."""
    script = RECIPE.replace("profiles/staging.toml", profile).replace("reports/", f"{tmp_path}/reports/")
    environment = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin",
        "URL": url,
        "PYTEST_ADDOPTS": QUICK,
        **env,
    }
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=300
    )


def test_the_recipe_says_what_the_workflow_does():
    workflow = (PROJECT_ROOT / "docs" / "ci-workflow.yml").read_text(encoding="utf-8")
    assert "--allow-destructive --require-all-codes" in RECIPE and "--allow-destructive --require-all-codes" in workflow
    assert "|| status=$?" in RECIPE and "|| status=$?" in workflow


def test_the_recipe_holds_on_a_correct_deployment_under_bash_e(tmp_path):
    """The reference server as the deployment (the stand-in's app), with the in-process profile."""
    database = tmp_path / "correct.sqlite3"
    with start_embedded(create_app({"DATABASE": str(database)})) as server:
        done = run_recipe(tmp_path, server.base_url, str(PROFILE), {"REFERENCE_SERVER_DB": str(database)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert done.stdout.rstrip().endswith("contract holds") and (tmp_path / "reports" / "junit.xml").is_file()


def test_the_recipe_blocks_a_broken_deployment_under_bash_e(tmp_path):
    """The stand-in's app with `--defect wrong-new-code-accepted`."""
    database = tmp_path / "broken.sqlite3"
    broken = [BY_NAME["wrong-new-code-accepted"]]
    with start_embedded(create_app({"DATABASE": str(database), "DEFECTS": broken})) as server:
        stop_at_the_first = {"REFERENCE_SERVER_DB": str(database), "PYTEST_ADDOPTS": f"{QUICK} -x"}
        done = run_recipe(tmp_path, server.base_url, str(PROFILE), stop_at_the_first)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert done.stdout.rstrip().endswith("contract broken: block the deployment")
