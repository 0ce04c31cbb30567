"""No token and no SMS code reaches the terminal, the JUnit XML, the coverage JSON or any file the run writes."""

import sqlite3
import time
import tomllib

import pytest

from contract_suite.spec import PROJECT_ROOT
from reference_server import create_app, start_embedded
from reference_server.app import NEW_PHONE_REGISTERED, SetPhoneService
from tests.support.leaks import files_written_since, leaks, leaks_in, profile_tokens
from tests.support.suite import NO_RATE_LIMIT, run_pytest

pytestmark = pytest.mark.selftest

PROFILE = PROJECT_ROOT / "profiles" / "reference.toml"


class EverythingIsRegistered(SetPhoneService):
    """Answer "new phone already registered" to every request past the token: most cases fail, printing curl lines."""

    def missing_parameter(self, params):
        return NEW_PHONE_REGISTERED


@pytest.mark.parametrize(
    "defects", [pytest.param([], id="passing-target"), pytest.param([EverythingIsRegistered], id="failing-target")]
)
def test_no_secret_in_anything_the_run_produces(tmp_path, defects):
    db = tmp_path / "reference.sqlite3"
    app = create_app({"DATABASE": str(db), "DEFECTS": defects})
    reports = tmp_path / "reports"
    started = time.time() - 1
    with start_embedded(app) as server:
        result = run_pytest(
            "contract_tests",
            "--base-url",
            server.base_url,
            "--profile",
            str(PROFILE),
            "--allow-destructive",
            *NO_RATE_LIMIT,
            "-rA",
            "-vv",
            f"--junitxml={reports / 'junit.xml'}",
            f"--coverage-json={reports / 'coverage.json'}",
            env={"REFERENCE_SERVER_DB": str(db)},
            timeout=300,
        )
    assert result.returncode == (1 if defects else 0), result.stdout[-3000:]
    tokens = list(tomllib.loads(PROFILE.read_text())["tokens"].values())
    with sqlite3.connect(db) as conn:
        codes = [row[0] for row in conn.execute("SELECT code FROM sms_codes")]
    assert codes, "the run issued no SMS code: nothing to look for"
    secrets = tokens + codes
    assert (reports / "junit.xml").is_file() and (reports / "coverage.json").is_file()
    produced = {"stdout": result.stdout, "stderr": result.stderr}
    for path in files_written_since(reports, started) + files_written_since(PROJECT_ROOT, started):
        try:
            produced[str(path)] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    found = {where: leaks(text, secrets) for where, text in produced.items()}
    assert {where: hits for where, hits in found.items() if hits} == {}
    if defects:  # the failing run did print reproduce lines, with the secrets masked
        assert "reproduce: curl" in result.stdout and "${CONTRACT_TOKEN}" in result.stdout
        assert "${NEW_PHONE_CODE}" in result.stdout
        assert "(masked: set OLD_PHONE_CODE, NEW_PHONE_CODE, CONTRACT_TOKEN in your shell first" in result.stdout


BOOM_PLUGIN = """
import tomllib

def pytest_collection_modifyitems(config, items):
    tokens = tomllib.loads(open(config.getoption("profile"), encoding="utf-8").read())["tokens"]
    valid = tokens["valid"]
    raise RuntimeError(f"a plugin failed while holding {valid}")
"""


def test_an_internal_error_is_masked_too(tmp_path):
    """A crash outside any test (an INTERNALERROR), with every flag that shows more, prints no token."""
    (tmp_path / "boom_plugin.py").write_text(BOOM_PLUGIN, encoding="utf-8")
    junit = tmp_path / "junit.xml"
    result = run_pytest(
        "contract_tests/test_token.py",
        "--profile",
        str(PROFILE),
        "-p",
        "boom_plugin",
        "--showlocals",
        "--fulltrace",
        "--tb=long",
        f"--junitxml={junit}",
        env={"PYTHONPATH": str(tmp_path)},
        timeout=120,
    )
    assert result.returncode == 3, result.tail()  # pytest's exit status for an internal error
    assert "INTERNALERROR>" in result.output and "a plugin failed while holding" in result.output
    tokens = profile_tokens(PROFILE)
    assert leaks_in({"output": result.output, "junit": junit.read_text() if junit.exists() else ""}, tokens) == {}
