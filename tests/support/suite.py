"""Run the contract suite (pytest) in a subprocess and measure it: exit code, output, wall time, max RSS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROFILE = PROJECT_ROOT / "profiles" / "reference.toml"
# No cache folder written by the suite runs of the self-tests.
QUICK = ("-p", "no:cacheprovider")
# The hand-written cases only: without the generated layer, schemathesis and hypothesis are not even imported
# (about 3 s less start-up a run). For self-tests whose point is not the generated layer.
WITHOUT_GENERATED = (
    "--ignore",
    "contract_tests/test_generated.py",
    "-p",
    "no:schemathesis",
    "-p",
    "no:hypothesispytest",
)
HAND_WRITTEN = ("contract_tests", *WITHOUT_GENERATED)


@dataclass(frozen=True)
class Finished:
    returncode: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    seconds: float
    max_rss_mib: float  # the child's peak resident memory (ru_maxrss)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


# Left out of a suite run's environment: the outer run's settings, and PYTHONDONTWRITEBYTECODE (some machines set
# it; then every one of the self-tests' hundred suite runs compiles schemathesis, hypothesis and pytest's
# assertion rewrites anew, about 3 s of CPU each; with it gone, the first run writes the caches the others read).
LEFT_OUT = ("CONTRACT_", "PYTEST_", "PYTHONDONTWRITEBYTECODE")


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the variables in LEFT_OUT, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEFT_OUT)}
    return {**env, **(extra or {})}


def run_pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Finished:
    """`python -m pytest ARGS` from the project root; its peak memory read with wait4 (this child only)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *QUICK, *args],
            cwd=PROJECT_ROOT,
            env=clean_environment(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        returncode, usage = None, None
        while time.monotonic() - started < timeout:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                returncode = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.05)
        if returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            _, _, usage = os.wait4(process.pid, 0)
        process.returncode = returncode if returncode is not None else -9
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Finished(
            returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            usage.ru_maxrss / 1024,
        )
