"""The profile's commands ([codes] command, [tokens] command): run bounded, in a process group of their own
that is killed whole on timeout; their output never shown unmasked."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass

COMMAND_TIMEOUT = 30.0
STDERR_SHOWN = 200


class CommandFailed(Exception):
    """The command could not give its value; the message is safe to show once masked. `returncode` is its exit
    status when it exited (None: it could not start, or was killed); `stderr` what it wrote there (not shown)."""

    def __init__(self, message: str, returncode: int | None = None, stderr: str = ""):
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str


def run(command: str, what: str, env: dict[str, str], timeout: float = COMMAND_TIMEOUT) -> CommandResult:
    """Run command (already formatted) with env; CommandFailed on a start failure, a timeout or a non-zero exit."""
    # "python" in a profile's command means the interpreter running the suite.
    env = {**env, "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")}
    try:
        process = subprocess.Popen(
            shlex.split(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandFailed(f"{what} cannot start: {exc.strerror or type(exc).__name__}: {exc.filename}") from None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise CommandFailed(f"{what} did not finish within {timeout:g} s (killed with its child processes)") from None
    if process.returncode != 0:
        raise CommandFailed(f"{what} exited {process.returncode}: {last_line(stderr)}", process.returncode, stderr)
    return CommandResult(stdout, stderr)


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:STDERR_SHOWN] if lines else "(nothing on stderr)"


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a grandchild kept the pipes open after the group was killed
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        process.wait(timeout=5)
