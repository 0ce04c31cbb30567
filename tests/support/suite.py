"""Run the contract suite (pytest) in a process of its own and measure it: exit code, output, wall time, max RSS.

The process is forked from a fork server (tests/support/forkserver.py) that has the suite's libraries imported
already; a run whose environment sets interpreter options (PYTHON*) gets a fresh interpreter instead.
"""

from __future__ import annotations

import atexit
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.forkserver import PRELOADED, PRELOADED_AS_PYTEST_REWRITES, ForkServer, Preload, rewritten_by_pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The reference server's test data with its SMS codes issued by a function in the suite's own process: the
# self-tests' default. profiles/reference.toml's code command starts an interpreter for each code, over a thousand
# a self-test run (more than a minute of CPU on 2 cores); the self-tests whose subject is the command use it.
PROFILE = PROJECT_ROOT / "profiles" / "reference-in-process.toml"
CODE_SOURCE = "[codes] function"  # how the runs on PROFILE name where their codes come from
CODE_FUNCTION_LINE = 'function = "reference_server.codes:code_for_profile"'  # PROFILE's, for copies that replace it
COMMAND_PROFILE = PROJECT_ROOT / "profiles" / "reference.toml"
# No cache folder written by the suite runs of the self-tests.
QUICK = ("-p", "no:cacheprovider")
# The hand-written cases only: the generated layer is neither collected nor run, nor its plugins configured.
# For self-tests whose point is not the generated layer.
WITHOUT_GENERATED = (
    "--ignore",
    "contract_tests/test_generated.py",
    "-p",
    "no:schemathesis",
    "-p",
    "no:hypothesispytest",
)
HAND_WRITTEN = ("contract_tests", *WITHOUT_GENERATED)
# The self-tests' servers are local and ours. A URL target otherwise gets the default politeness of 10 requests a
# second, and a whole run waits about 8 s on it alone. Left out where the politeness itself is under test.
NO_RATE_LIMIT = ("--rate-limit", "0")


def target_args(
    base_url: str, profile: str | Path | None = PROFILE, *more: str, destructive: bool = False
) -> list[str]:
    """The suite's options for a target at base_url: `--base-url`, `--profile` (None: none), `--allow-destructive`
    when asked, then `more`. The one place the self-tests and the bench build a run's command line from."""
    args = ["--base-url", base_url]
    if profile is not None:
        args += ["--profile", str(profile)]
    if destructive:
        args.append("--allow-destructive")
    return [*args, *more]


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


# Left out of a suite run's environment: the outer run's settings; the machine's proxies (the self-tests' targets
# are on 127.0.0.1; the proxy self-tests set their own); and PYTHONDONTWRITEBYTECODE (some machines set it; then
# every one of the self-tests' hundred suite runs compiles schemathesis, hypothesis and pytest's assertion
# rewrites anew, about 3 s of CPU each; with it gone, the first run writes the caches the others read).
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
LEFT_OUT = ("CONTRACT_", "PYTEST_", "PYTHONDONTWRITEBYTECODE", *PROXY_VARIABLES, *(v.upper() for v in PROXY_VARIABLES))


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the variables in LEFT_OUT, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEFT_OUT)}
    return {**env, **(extra or {})}


# Collected once in the fork server (collecting sends nothing; the address is one nothing listens on): schemathesis
# builds the generated layer's coverage cases at collection, into process-wide caches with hypothesis's strategies
# and the compiled validators. Every run forked afterwards starts with them: about 0.9 s of CPU less for each run
# with the generated layer (the first run in a process, as a user's run is, pays it; the bench measures that one).
COLLECTED_ONCE = ("contract_tests/test_generated.py", *target_args("http://127.0.0.1:9", PROFILE))


@functools.cache
def _fork_server() -> ForkServer:
    """This process's fork server, started on first use and stopped at exit."""
    preload = Preload(PRELOADED, PRELOADED_AS_PYTEST_REWRITES, rewritten_by_pytest(), COLLECTED_ONCE)
    server = ForkServer(preload, env=clean_environment(), cwd=PROJECT_ROOT)
    atexit.register(server.close)
    return server


def run_pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Finished:
    """`python -m pytest ARGS` from the project root, in a process of its own; its peak memory read with wait4."""
    environment = clean_environment(env)
    if any(key.startswith("PYTHON") for key in env or {}):  # interpreter options: only a fresh interpreter reads them
        return _run_in_fresh_interpreter(args, environment, timeout)
    server = _fork_server()
    with tempfile.TemporaryDirectory(prefix="suite-run-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        started = time.monotonic()
        child = server.start([*QUICK, *args], env=environment, cwd=PROJECT_ROOT, stdout=out, stderr=err)
        returncode, usage = child.wait(timeout)
        if returncode is None:
            child.kill()
            usage = child.usage
        seconds = time.monotonic() - started
        return Finished(
            returncode,
            out.read_text("utf-8", "replace") if out.exists() else "",
            err.read_text("utf-8", "replace") if err.exists() else "",
            seconds,
            (usage.maxrss_kib if usage else 0) / 1024,
        )


def _run_in_fresh_interpreter(args: tuple[str, ...], environment: dict[str, str], timeout: float) -> Finished:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *QUICK, *args],
            cwd=PROJECT_ROOT,
            env=environment,
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


@contextmanager
def reference_servers(folder: Path, *serving: type) -> Iterator[Callable[..., tuple[str, dict[str, str]]]]:
    """start(*defects): the reference server with the `serving` mixins (another operation it serves) and the
    defects before them, on a fresh database in folder; (its URL, the env for the profile's code source). Every
    server started is stopped at the end."""
    from reference_server import create_app, start_embedded

    servers = []

    def start(*defects: type) -> tuple[str, dict[str, str]]:
        database = folder / f"reference-{len(servers)}.sqlite3"
        server = start_embedded(create_app({"DATABASE": str(database), "DEFECTS": [*defects, *serving]}))
        servers.append(server)
        return server.base_url, {"REFERENCE_SERVER_DB": str(database)}

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
