"""The suite against the reference server started standalone and reached by --base-url, as QA runs it."""

import json
import os
import subprocess
import sys

import pytest

from contract_suite.openapi import spec
from contract_suite.openapi.spec import PROJECT_ROOT
from tests.support.junit import read_junit
from tests.support.suite import HAND_WRITTEN, NO_RATE_LIMIT, run_pytest, target_args

pytestmark = pytest.mark.selftest

PROFILE = PROJECT_ROOT / "profiles" / "reference.toml"
CONTRACT = spec.load()


@pytest.fixture
def standalone(tmp_path):
    """`python -m reference_server --port 0` on a fresh database: (base URL, env for the suite)."""
    db = tmp_path / "reference.sqlite3"
    env = {"REFERENCE_SERVER_DB": str(db)}  # what the suite runs need besides their clean environment
    server = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), f"the server printed {url!r} instead of its URL"
        yield url, env
    finally:
        server.terminate()
        server.wait(timeout=10)


def run_suite(tmp_path, env, *args, name="junit"):
    junit = tmp_path / f"{name}.xml"
    result = run_pytest(*HAND_WRITTEN, *NO_RATE_LIMIT, f"--junitxml={junit}", "-rs", *args, env=env, timeout=300)
    verdicts = {test_id: outcome.outcome for test_id, outcome in read_junit(junit).items()}
    return result, verdicts


def test_same_verdicts_as_embedded_and_twice_in_a_row(standalone, tmp_path):
    url, env = standalone
    args = (*target_args(url, str(PROFILE)), "--allow-destructive")
    first, first_verdicts = run_suite(
        tmp_path, env, *args, f"--coverage-json={tmp_path / 'coverage.json'}", name="first"
    )
    assert first.returncode == 0, first.stdout[-3000:]
    assert f"contract target: {url}" in first.stdout
    second, second_verdicts = run_suite(tmp_path, env, *args, name="second")
    assert second.returncode == 0, second.stdout[-3000:]
    embedded, embedded_verdicts = run_suite(tmp_path, env, name="embedded")
    assert embedded.returncode == 0, embedded.stdout[-3000:]
    assert first_verdicts == second_verdicts == embedded_verdicts
    assert "contract_tests/test_success.py::test_change_is_made_and_restored" in first_verdicts
    assert set(first_verdicts.values()) <= {"passed", "skipped"}
    rows = json.loads((tmp_path / "coverage.json").read_text())["codes"]
    statuses = {row["code"]: row["status"] for row in rows}
    unreachable = {code for code, entry in CONTRACT.codes.items() if not entry.exercisable}
    assert statuses == {code: "not exercisable" if code in unreachable else "seen" for code in CONTRACT.codes}


def test_success_case_refused_without_allow_destructive(standalone, tmp_path):
    url, env = standalone
    result, verdicts = run_suite(tmp_path, env, *target_args(url, PROFILE))
    assert result.returncode == 0, result.stdout[-3000:]
    assert verdicts["contract_tests/test_success.py::test_change_is_made_and_restored"] == "skipped"
    assert "pass --allow-destructive to run it" in result.stdout
    assert "destructive cases: refused (pass --allow-destructive)" in result.stdout


def test_without_profile_token_cases_run_and_others_name_the_key(standalone, tmp_path):
    url, env = standalone
    result, verdicts = run_suite(tmp_path, env, "--base-url", url)
    assert result.returncode == 2, result.stdout[-3000:]  # a partial judgement for want of data: no pass
    assert "CANNOT JUDGE (exit 2): a partial judgement: judged 1 of" in result.stdout
    assert "pass --allow-partial to accept a partial judgement" in result.stdout
    assert verdicts["contract_tests/test_token.py::test_wrong_token"] == "passed"
    assert verdicts["contract_tests/test_token.py::test_no_token"] == "passed"
    assert verdicts["contract_tests/test_token.py::test_orphan_token"] == "skipped"
    assert "add [tokens] orphan to the profile (or set CONTRACT_ORPHAN_TOKEN)" in result.stdout
    assert "add [account] international_code and phone to the profile" in result.stdout
    assert "skipped" in result.stdout.split("documented-code coverage")[1]


def test_the_stand_in_writes_a_profile_that_holds_the_first_time(tmp_path):
    """`python -m reference_server stand-in` on its own database writes the profile that matches it (its URL, a code
    command issuing codes into that same database): the suite run with that profile alone, in a clean environment
    (no REFERENCE_SERVER_DB), HOLDS; and the command that prints it is the one the README gives."""
    folder = tmp_path / "stand-in"
    server = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "stand-in", "--port", "0", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,  # a newcomer's folder: nothing of the project's beside it
        env={k: v for k, v in os.environ.items() if k != "REFERENCE_SERVER_DB"},
    )
    try:
        url = server.stdout.readline().strip()
        said = [server.stdout.readline().strip() for _ in range(3)]
        profile = folder / "profile.toml"
        assert (
            said[0] == f"profile for it: {profile} (its code command issues codes into {folder / 'reference.sqlite3'})"
        )
        assert said[2] == f"pytest contract_tests --profile {profile} --allow-destructive"
        assert f'base_url = "{url}"' in profile.read_text(encoding="utf-8")
        result, verdicts = run_suite(tmp_path, {}, "--profile", str(profile), "--allow-destructive")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"contract target: {url}" in result.stdout
    assert "failed" not in set(verdicts.values()) and verdicts, verdicts
    assert not (tmp_path / "reference-server.sqlite3").exists()  # no database made where nobody reads it


def test_the_servers_help_names_its_other_commands(capsys):
    """`python -m reference_server --help` lists `stand-in` and `issue-code` beside its own options."""
    from reference_server.__main__ import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    shown = capsys.readouterr().out
    assert done.value.code == 0
    assert "python -m reference_server stand-in [--port PORT] [--dir DIR]" in shown
    assert "python -m reference_server issue-code IC PHONE [--db PATH]" in shown


def test_a_stand_in_started_with_a_defect_shows_a_broken_run(tmp_path):
    """README: `stand-in --defect wrong-new-code-is-5168` serves a broken deployment; the suite against it ends
    BROKEN (exit 1), the failed case naming the code it expected and the one that came."""
    folder = tmp_path / "broken-stand-in"
    server = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "stand-in", "--port", "0", "--dir", str(folder)]
        + ["--defect", "wrong-new-code-is-5168"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "REFERENCE_SERVER_DB"},
    )
    try:
        server.stdout.readline()
        assert server.stderr.readline().strip() == "deliberately broken: wrong-new-code-is-5168"
        for _ in range(3):
            server.stdout.readline()
        profile = folder / "profile.toml"
        result, verdicts = run_suite(tmp_path, {}, "--profile", str(profile), "--allow-destructive")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "BROKEN (exit 1): 5169 new phone verification failed (test_wrong_new_phone_code)" in result.stdout
    assert 'actual:   5168 "Original phone number verification failed"' in result.stdout
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "stand-in --port 8081 --dir broken-stand-in --defect wrong-new-code-is-5168" in readme


def test_the_servers_help_lists_each_defect(capsys):
    from reference_server.__main__ import main
    from reference_server.defects import BY_NAME

    with pytest.raises(SystemExit):
        main(["--help"])
    shown = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at a hyphen
    assert all(f"{name}: " in shown for name in BY_NAME) and "answer 5168 instead of 5169" in shown
