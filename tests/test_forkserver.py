"""The self-tests' way of running the suite (tests/support/suite.py through tests/support/forkserver.py) gives each
run what a fresh `python -m pytest` would: its own exit status, output, working directory and environment, no
warning about modules imported before pytest could rewrite them, and a timeout that kills everything it started."""

import json
import os
import sys
import textwrap
import time

import pytest

from tests.support.forkserver import ForkServer, Preload
from tests.support.suite import PROJECT_ROOT, clean_environment, run_pytest

pytestmark = pytest.mark.selftest


def write_test(folder, body: str):
    path = folder / "test_probe.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_run_has_its_own_status_output_folder_and_environment(tmp_path):
    probe = write_test(
        tmp_path,
        """
        import json, os, sys

        def test_probe():
            seen = {"cwd": os.getcwd(), "marker": os.environ.get("PROBE_MARKER"), "argv0": sys.argv[0]}
            print("\\n" + json.dumps(seen))
            assert os.environ.get("PROBE_MARKER") == "never set"
        """,
    )
    finished = run_pytest(str(probe), "-s", env={"PROBE_MARKER": "from the test"}, timeout=60)
    assert finished.returncode == 1, finished.tail()
    seen = json.loads(next(line for line in finished.stdout.splitlines() if line.startswith('{"cwd"')))
    assert seen == {"cwd": str(PROJECT_ROOT), "marker": "from the test", "argv0": seen["argv0"]}
    assert seen["argv0"].endswith(os.path.join("pytest", "__main__.py"))  # as `python -m pytest` sets it
    # the failed assert was rewritten as in any pytest run: it shows the value compared
    assert "AssertionError: assert 'from the test' == 'never set'" in finished.stdout
    assert finished.max_rss_mib > 0


def test_the_contract_suite_gets_no_warning_about_modules_imported_too_early():
    finished = run_pytest("contract_tests", "--co", "-q", timeout=60)
    assert finished.returncode == 0, finished.tail()
    assert "cannot be rewritten" not in finished.output
    assert "PytestAssertRewriteWarning" not in finished.output


def test_a_timeout_kills_the_run_and_what_it_started(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    probe = write_test(
        tmp_path,
        f"""
        import subprocess, time

        def test_hangs():
            child = subprocess.Popen(["sleep", "600"])
            open({str(pid_file)!r}, "w").write(str(child.pid))
            time.sleep(600)
        """,
    )
    started = time.monotonic()
    finished = run_pytest(str(probe), timeout=3)
    assert finished.returncode is None
    assert time.monotonic() - started < 60
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(grandchild), f"the run's child process {grandchild} outlived the timeout"


def alive(pid: int) -> bool:
    """Running, or stopped; not gone and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_server_that_cannot_start_says_why():
    # `json` is among what the server imports itself: named as a module pytest must rewrite, it cannot be
    server = ForkServer(Preload((), (), ("json",)), env=clean_environment(), cwd=PROJECT_ROOT)
    try:
        with pytest.raises(RuntimeError, match=r"imported without pytest's assert rewriting: \['json'\]"):
            server.start([sys.executable], env={}, cwd=PROJECT_ROOT, stdout=os.devnull, stderr=os.devnull)
    finally:
        server.close()
