"""Suite runs forked from a process that has already imported pytest and the libraries the suite uses.

The self-tests run the contract suite about 130 times. A fresh `python -m pytest` spends most of a second
starting the interpreter and importing pytest, its plugins' libraries and the suite's own modules before the
first test; on 2 cores that was a third of the self-tests' time. A fork server pays it once: the server
process imports those modules, then forks one child per run. The child is a process of its own, as before:
its own session (killed whole at the timeout), working directory, environment, standard streams and exit
status, and `python -m pytest`'s entry point; wait4 gives its exit status and its resource usage.

Then the server collects the generated layer once (`pytest --co`, output dropped, nothing sent): schemathesis
builds its coverage cases at collection into process-wide caches, which every child starts with (about 0.9 s of
CPU less for each run with the generated layer; a user's run, the first in its process, pays it, and so does
the bench's contract run).

Only modules pytest does not rewrite are imported beforehand: pytest rewrites the asserts of its plugins'
packages (hypothesis, schemathesis, pytest-html, ...) and of contract_suite.pytest.plugin, and warns when one of
them was imported before it could. Those are still imported by each run, as in a fresh process.

    server = ForkServer(PRELOADED, env=..., cwd=...)
    child = server.start(["contract_tests", "-q"], env=..., cwd=..., stdout=path, stderr=path)
    status, usage = child.wait(timeout)     # None, None at the timeout (then child.kill())
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

# What a suite run imports that pytest leaves alone; a name missing on this machine is skipped.
PRELOADED = (
    "pytest",
    "_pytest.pytester",
    "_pytest.junitxml",
    "_pytest.logging",
    "jinja2",
    "pygments.lexers.python",
    "pygments.formatters.terminal",
    "allure_commons.logger",
    "allure_commons.utils",
    "allure",
    "requests",
    "yaml",
    "jsonschema",
    "tomllib",
    "xml.etree.ElementTree",
    "unittest",
    "packaging.version",
    "werkzeug.serving",
    "openapi_spec_validator",  # the spec lint's cases (about a sixth of a second a run that collects them)
    "contract_suite.openapi.lint",
    "contract_suite.engine.settings",
    "contract_suite.pytest.fixtures",
    "contract_suite.reporting.summary",
    "contract_suite.openapi.spec",
    "contract_suite.engine.case_toolkit",
    "contract_suite.http.transport",
    "contract_suite.engine.judging",
    "reference_server.app",
    "reference_server.embedded",
)
# What a run imports from the packages pytest rewrites: the plugins themselves (each run still registers and
# configures them, or blocks them with -p no:NAME) and the libraries of the generated layer. Imported through
# pytest's rewriting hook, as a run imports them.
PRELOADED_AS_PYTEST_REWRITES = (
    "contract_suite.pytest.plugin",
    "pytest_base_url.plugin",
    "pytest_html.plugin",
    "pytest_html.fixtures",
    "pytest_metadata.plugin",
    "allure_pytest.plugin",
    "xdist.plugin",
    "xdist.looponfail",
    "_hypothesis_pytestplugin",
    "schemathesis.pytest.plugin",
    "hypothesis",
    "schemathesis",
    "schemathesis.pytest",
    "schemathesis.graphql",
    "schemathesis.python.asgi",
    "contract_suite.schemathesis_layer.checks",
    "contract_suite.schemathesis_layer.generation",
    "contract_suite.schemathesis_layer.cases",
)


def rewritten_by_pytest() -> tuple[str, ...]:
    """The packages pytest rewrites the asserts of, and warns about when they were imported before it could: those
    of every installed plugin (pytest11 entry points), and the plugin the project's conftest.py names."""
    names = {"contract_suite.pytest.plugin"}
    for dist in importlib.metadata.distributions():
        if not any(ep.group == "pytest11" for ep in dist.entry_points):
            continue
        for file in dist.files or ():
            top = file.parts[0].removesuffix(".py")
            if top.isidentifier() and top != "__pycache__" and (len(file.parts) > 1 or file.suffix == ".py"):
                names.add(top)
    return tuple(sorted(names))


# The server: reads one JSON request a line on stdin, answers JSON lines on stdout.
#   {"id", "argv", "env", "cwd", "stdout", "stderr"} -> {"id", "pid"} at once, {"id", "status", "usage"} at the end
_SERVER = r"""
import atexit, gc, importlib, json, os, select, sys

preloaded, preloaded_as_pytest_rewrites, rewritten_by_pytest, collected_once = (json.loads(a) for a in sys.argv[1:5])
for name in preloaded:
    try:
        importlib.import_module(name)
    except ImportError:
        pass

def refuse_unrewritten():
    from _pytest.assertion.rewrite import AssertionRewritingHook
    unrewritten = sorted(
        name
        for name in rewritten_by_pytest
        if name in sys.modules and not isinstance(sys.modules[name].__loader__, AssertionRewritingHook)
    )
    if unrewritten:
        sys.exit(f"fork server: these were imported without pytest's assert rewriting: {unrewritten}")

refuse_unrewritten()

# Imported through an assert-rewriting hook of pytest's, as a run would: pytest then knows them as rewritten.
from _pytest.assertion import AssertionState
from _pytest.assertion.rewrite import AssertionRewritingHook, assertstate_key
from _pytest.config import get_config
config = get_config()
config.stash[assertstate_key] = AssertionState(config, "rewrite")
hook = AssertionRewritingHook(config)
hook.mark_rewrite(*rewritten_by_pytest)
sys.meta_path.insert(0, hook)
try:
    for name in preloaded_as_pytest_rewrites:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
finally:
    sys.meta_path.remove(hook)
del config, hook
refuse_unrewritten()

# `pytest --co ARGS`, its output dropped (the server's stdout is its answers): what it builds at collection fills the
# libraries' process-wide caches (schemathesis's coverage values, hypothesis's strategies, compiled validators), which
# every child then starts with. It must leave no thread behind: a fork keeps only its own.
def collect_once(args):
    import contextlib, io, threading
    import pytest
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1), os.dup2(null, 2)
    failed = None
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = pytest.main(["--co", "-q", "-p", "no:cacheprovider", *args])
        failed = None if status == 0 else f"exit status {int(status)}"
    except Exception as exc:  # the runs still work, only slower: said on the server's stderr
        failed = repr(exc)
    finally:
        os.dup2(saved[0], 1), os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
    if failed:
        print(f"fork server: collecting {args} failed ({failed}); the runs start with cold caches", file=sys.stderr)
    if threading.active_count() != 1:
        sys.exit(f"fork server: collecting {args} left threads running: {threading.enumerate()}")

if collected_once:
    collect_once(collected_once)

# What is loaded now lives as long as the server: out of the collector's sight, the children's collections neither
# walk it nor write to its pages (which the children share with the server until written).
gc.freeze()

def run_child(request):
    os.setsid()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    import tempfile  # (this function runs in the server, which imports only what it preloads)

    tempfile.tempdir = None  # the run's TMPDIR, not the one the server cached
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((null, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
        os.close(fd)
    sys.path[0] = request["cwd"]  # as `python -m` puts its working directory first
    sys.argv = ["-m", *request["argv"]]
    code = 1
    try:
        import runpy
        runpy.run_module("pytest", run_name="__main__", alter_sys=True)  # `python -m pytest`
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # as the interpreter does: the message on stderr, exit 1
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)

def answer(message):
    os.write(1, (json.dumps(message) + "\n").encode())

children, pending = {}, b""
while True:
    readable, _, _ = select.select([0], [], [], 0.05)
    if readable:
        data = os.read(0, 65536)
        if not data:
            break
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                run_child(request)
            children[pid] = request["id"]
            answer({"id": request["id"], "pid": pid})
    while children:
        pid, status, usage = os.wait4(-1, os.WNOHANG)
        if not pid:
            break
        answer({
            "id": children.pop(pid),
            "status": os.waitstatus_to_exitcode(status),
            "usage": {"maxrss_kib": usage.ru_maxrss, "cpu_seconds": usage.ru_utime + usage.ru_stime},
        })
for pid in children:
    os.killpg(pid, 9)
"""


@dataclass(frozen=True)
class Preload:
    """What the server imports before its first fork: plain modules, modules of packages pytest rewrites, and
    the names of those packages (rewritten_by_pytest()); then the pytest arguments of one collection it runs
    (`--co`, output dropped) to fill the libraries' caches (none: no collection)."""

    modules: tuple[str, ...]
    as_pytest_rewrites: tuple[str, ...]
    rewritten_by_pytest: tuple[str, ...]
    collected_once: tuple[str, ...] = ()

    def __iter__(self):
        return iter((self.modules, self.as_pytest_rewrites, self.rewritten_by_pytest, self.collected_once))


@dataclass(frozen=True)
class Usage:
    maxrss_kib: int
    cpu_seconds: float


class ForkServer:
    """One server process; start() forks a suite run from it. Safe to use from several threads."""

    def __init__(self, preloaded: Preload, env: dict[str, str], cwd: Path):
        self._errors = tempfile.TemporaryFile()  # what the server itself says (why it ended)
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, *(json.dumps(names) for names in preloaded)],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
        )
        self._lock = threading.Lock()
        self._next_id = 0
        self._waiting: dict[int, _Child] = {}
        self._reader = threading.Thread(target=self._read_answers, name="fork-server-answers", daemon=True)
        self._reader.start()

    def start(self, argv: list[str], env: dict[str, str], cwd: Path, stdout: Path, stderr: Path) -> _Child:
        with self._lock:
            self._next_id += 1
            child = _Child(self._next_id, self)
            self._waiting[child.id] = child
            request = {"id": child.id, "argv": argv, "env": env, "cwd": str(cwd), "stdout": str(stdout)}
            request["stderr"] = str(stderr)
            try:
                self._process.stdin.write((json.dumps(request) + "\n").encode())
                self._process.stdin.flush()
            except OSError:
                raise self.ended() from None
        if not child.started.wait(30) or child.pid is None:
            raise self.ended()
        return child

    def ended(self) -> RuntimeError:
        """The error for a server that is gone (or stuck), with what it said."""
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            return RuntimeError("the fork server does not answer")
        self._errors.seek(0)
        said = self._errors.read().decode("utf-8", "replace").strip()
        return RuntimeError(f"the fork server ended (exit {self._process.returncode}): {said or 'it said nothing'}")

    def close(self) -> None:
        self._errors.close()
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _read_answers(self) -> None:
        for line in self._process.stdout:
            answer = json.loads(line)
            with self._lock:
                child = self._waiting[answer["id"]]
                if "pid" in answer:
                    child.pid = answer["pid"]
                    child.started.set()
                    continue
                del self._waiting[answer["id"]]
            child.status = answer["status"]
            child.usage = Usage(**answer["usage"])
            child.finished.set()
        with self._lock:  # the server is gone: nothing more will be answered
            for child in self._waiting.values():
                child.lost = True
                child.started.set()
                child.finished.set()
            self._waiting.clear()


class _Child:
    def __init__(self, request_id: int, server: ForkServer):
        self.id = request_id
        self.server = server
        self.lost = False  # the server ended before it could say how the run ended
        self.pid: int | None = None
        self.status: int | None = None
        self.usage: Usage | None = None
        self.started = threading.Event()
        self.finished = threading.Event()

    def wait(self, timeout: float) -> tuple[int | None, Usage | None]:
        """The exit status and resource usage; (None, None) when it has not ended within timeout seconds."""
        if not self.finished.wait(timeout):
            return None, None
        if self.lost:
            raise self.server.ended()
        return self.status, self.usage

    def kill(self) -> None:
        """Kill the run with everything it started (its session), and wait for it."""
        if self.pid is not None:
            try:
                os.killpg(self.pid, 9)
            except ProcessLookupError:
                pass
        self.finished.wait(30)
