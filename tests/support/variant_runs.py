"""Runs the contract suite (`pytest contract_tests`) in a subprocess against a variant of the
reference server and reads its verdict from the JUnit XML; judges the verdict against the catalogue.

Alone, to watch the suite on one variant: `python -m tests.support.variant_runs VARIANT [pytest args]`.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contract_suite.secrets import CONTROL
from reference_server import codes, create_app, start_embedded, storage
from tests.support.catalogue.kinds import REFERENCE, STATIC_CODES, TOKEN_COMMAND
from tests.support.junit import Outcome, case_of, is_hand_written, read_junit
from tests.support.suite import (
    CODE_FUNCTION_LINE,
    QUICK,
    WITHOUT_GENERATED,
    clean_environment,
    run_pytest,
    target_args,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# the reference test data, its SMS codes issued in the suite's process (tests/support/suite.py says why)
PROFILE = "profiles/reference-in-process.toml"
# Extra arguments for every suite run: the generated layer's fuzzing budget cut from
# schemathesis.toml's 25 cases, so ~40 runs stay fast (its examples and coverage phases still run whole).
EXTRA_ARGS: tuple[str, ...] = ("--generated-examples", "5")
# The spec lint sends no request, so no server defect can reach it; ignoring the file
# also spares each run importing openapi-spec-validator.
LINT_ARGS = ("-m", "not lint", "--ignore", "contract_tests/test_spec_lint.py")
# The variant is local and ours: none of the politeness a URL target gets by default
# (a rate limit and a request cap would only slow the runs or skip cases).
UNLIMITED = ("--rate-limit", "0", "--max-requests", "0")
# Plugins the contract suite does not use, blocked only to start each run faster.
UNUSED_PLUGINS = ("-p", "no:xdist", "-p", "no:xdist.looponfail", "-p", "no:anyio", "-p", "no:platformdirs")
# A broken variant is judged by the hand-written cases alone (the catalogue names hand-written test ids), so
# its run leaves out the generated layer and the plugins it needs: that saves about 3 s of start-up a run.
# A correct variant's run keeps it: the generated layer must raise no false alarm either.
HAND_WRITTEN_ONLY = WITHOUT_GENERATED
SUITE_TIMEOUT_SECONDS = 300.0
MAX_WORKERS = 3  # on 2 cores: one run waits on its server while two compute
OUTPUT_TAIL_LINES = 40


@dataclass
class SuiteRun:
    """One run of the contract suite against one variant."""

    variant: str
    args: list[str]  # of pytest
    returncode: int | None  # None: the run did not finish in time
    outcomes: dict[str, Outcome]
    output: str
    seconds: float
    junit: Path | None = None

    def with_outcome(self, *kinds: str) -> dict[str, Outcome]:
        return {test_id: o for test_id, o in self.outcomes.items() if o.outcome in kinds}

    @property
    def failed(self) -> dict[str, Outcome]:
        return self.with_outcome("failed", "error")

    @property
    def skipped(self) -> dict[str, Outcome]:
        return self.with_outcome("skipped")

    def hand_written_failures(self) -> set[str]:
        """The hand-written cases (test functions, parametrizations folded) that failed."""
        return {case_of(test_id) for test_id in self.failed if is_hand_written(test_id)}

    def explain(self) -> str:
        """What the run did and how to see it again, for an assertion message."""
        counts = {}
        for o in self.outcomes.values():
            counts[o.outcome] = counts.get(o.outcome, 0) + 1
        tail = "\n".join(self.output.rstrip().splitlines()[-OUTPUT_TAIL_LINES:])
        return (
            f"\n--- suite run against {self.variant}: exit {self.returncode}, {self.seconds:.1f} s, "
            f"outcomes {counts or 'none'}; JUnit XML {self.junit}\n"
            f"    reproduce: python -m tests.support.variant_runs {self.variant}\n"
            f"--- last lines of its output:\n{tail}"
        )


def suite_args(
    base_url: str, junit: Path | None, *more: str, profile: str = PROFILE, destructive: bool = True
) -> list[str]:
    """The pytest arguments of a run against the variant at base_url."""
    args = [
        "contract_tests",
        *target_args(base_url, profile),
        *(("--allow-destructive",) if destructive else ()),
        *UNLIMITED,
        *UNUSED_PLUGINS,
        *LINT_ARGS,
        *EXTRA_ARGS,
    ]
    if junit is not None:
        args += ["--junitxml", str(junit), "-q"]
    return args + list(more)


VALID_TOKEN_LINE = 'valid = "Bearer ref-valid-5d1f0c7a9b3e"'
# The [tokens] command of the TOKEN_COMMAND profile: the test account's token as the variant's database holds it now.
LOGIN_SCRIPT = (
    "import os, sqlite3\n"
    "db = sqlite3.connect(os.environ['REFERENCE_SERVER_DB'])\n"
    "print(db.execute('SELECT token FROM tokens WHERE user_id = 1').fetchone()[0])\n"
)


def profile_for(variant, workdir: Path, database: Path) -> str:
    """The profile a variant's run gets: PROFILE, or a copy with static codes (issued into the variant's database
    now) or with a [tokens] command."""
    if variant.profile == REFERENCE:
        return PROFILE
    text = (PROJECT_ROOT / PROFILE).read_text(encoding="utf-8")
    if variant.profile == STATIC_CODES:
        storage.ensure_database(str(database), time.time)
        with sqlite3.connect(database) as db:
            numbers = [f"{ic}-{phone}" for ic, phone in _profile_numbers(text)]
            static = {key: codes.issue(db, *key.split("-"), time.time()) for key in numbers}
        table = ", ".join(f'"{key}" = "{code}"' for key, code in static.items())
        text = text.replace(CODE_FUNCTION_LINE, f"static = {{ {table} }}")
    elif variant.profile == TOKEN_COMMAND:
        script = workdir / "login.py"
        script.write_text(LOGIN_SCRIPT, encoding="utf-8")
        text = text.replace(VALID_TOKEN_LINE, f'command = "python {script}"')
    path = workdir / "profile.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _profile_numbers(text: str) -> list[tuple[str, str]]:
    """(international code, phone) of every number the profile names."""
    profile = tomllib.loads(text)
    found = [(profile["account"]["international_code"], profile["account"]["phone"])]
    return found + [(p["international_code"], p["phone"]) for p in profile["phones"].values()]


def run_suite(variant, workdir: Path, hand_written_only: bool = False) -> SuiteRun:
    """Serve the reference app with the variant's defect mixed in on a fresh database in workdir; run the suite on
    it with the variant's test data and options."""
    database, junit = workdir / "reference.sqlite3", workdir / "junit.xml"
    profile = profile_for(variant, workdir, database)
    app = create_app({"DATABASE": str(database), "DEFECTS": [variant.defect]})
    server = start_embedded(app)
    started = time.monotonic()
    try:
        more = HAND_WRITTEN_ONLY if hand_written_only else ()
        args = suite_args(server.base_url, junit, *more, profile=profile, destructive=variant.destructive)
        # the profile's code function (or command) finds the variant's database here
        done = run_pytest(*args, env={"REFERENCE_SERVER_DB": str(database)}, timeout=SUITE_TIMEOUT_SECONDS)
        output = done.output
        if done.returncode is None:
            output += f"\n(no verdict within {SUITE_TIMEOUT_SECONDS:g} s)"
    finally:
        server.stop()
    outcomes = read_junit(junit) if junit.is_file() else {}
    return SuiteRun(variant.name, args, done.returncode, outcomes, output, time.monotonic() - started, junit)


def run_all(
    variants: Iterable, workdir_for, workers: int = MAX_WORKERS, hand_written_only: frozenset[str] = frozenset()
) -> dict[str, SuiteRun]:
    """Run the suite against each variant, `workers` runs at a time; workdir_for(name) gives a fresh folder;
    the variants named in hand_written_only are run without the generated layer."""
    variants = list(variants)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="suite-run") as pool:
        futures = {
            v.name: pool.submit(run_suite, v, workdir_for(v.name), v.name in hand_written_only) for v in variants
        }
        runs = {}
        for name, future in futures.items():
            try:
                runs[name] = future.result()
            except Exception as exc:  # that variant's tests fail with the reason; the others still get their runs
                runs[name] = SuiteRun(name, [], None, {}, f"could not serve {name} or run the suite: {exc!r}", 0.0)
        return runs


# --- verdicts ---------------------------------------------------------------------------------


def broken_problems(variant, run: SuiteRun) -> list[str]:
    """Why the suite did not catch a broken variant as its catalogue entry says; empty when it did."""
    if run.returncode != variant.exit_code:
        return [
            f"the suite should fail on {variant.name} ({variant.defect.__doc__}) with exit {variant.exit_code}, "
            f"got exit {run.returncode}"
        ]
    problems = []
    for test_id, fragments in variant.fails.items():
        found = run.outcomes.get(test_id)
        if found is None:
            problems.append(f"{test_id} should fail but did not run (renamed or deselected?)")
        elif found.outcome != "failed":
            problems.append(
                f"{test_id} should fail but {found.outcome}" + (f": {found.message}" if found.message else "")
            )
        else:
            missing = [f for f in fragments if f not in found.message]
            if missing:
                problems.append(f"{test_id} failed, but its message lacks {missing}:\n{found.message}")
    if variant.says and variant.says not in verdict_line(run.output, "BROKEN (exit 1): "):
        problems.append(f"the verdict line lacks {variant.says!r}: {verdict_line(run.output, 'BROKEN')!r}")
    if variant.sole and run.hand_written_failures() != variant.cases:
        problems.append(
            f"{variant.name} is stated to be caught by {sorted(variant.cases)} alone; "
            f"the hand-written cases that failed: {sorted(run.hand_written_failures())}"
        )
    problems += raw_controls(run)
    return problems


def raw_controls(run: SuiteRun) -> list[str]:
    """Where the run printed or wrote a raw control character (a value from the target or one the suite sent, that a
    terminal would act on): each must be shown escaped."""
    texts = {"its output": run.output}
    if run.junit is not None and run.junit.is_file():
        texts["its JUnit XML"] = run.junit.read_text(encoding="utf-8", errors="replace")
    found = []
    for where, text in texts.items():
        match = CONTROL.search(text)
        if match:
            around = text[max(match.start() - 60, 0) : match.end() + 20]
            found.append(f"a raw control character {match.group(0)!r} in {where}: ...{around!r}")
    return found


def verdict_line(output: str, start: str) -> str:
    """The run's verdict line that starts so, or "" when there is none."""
    return next((line for line in output.splitlines() if line.startswith(start)), "")


def unjudgeable_problems(variant, run: SuiteRun) -> list[str]:
    """Why the suite did not read an environment that failed part-way as "cannot judge"; empty when it did."""
    problems = []
    if run.returncode != variant.exit_code:
        problems.append(
            f"the suite should say it cannot judge {variant.name} ({variant.defect.__doc__}) with exit "
            f"{variant.exit_code}, got exit {run.returncode}"
        )
    line = verdict_line(run.output, "CANNOT JUDGE (exit 2): ")
    if variant.says not in line:
        problems.append(f"its CANNOT JUDGE line should say {variant.says!r}; it is {line!r}")
    blamed = [o for o in run.failed.values() if o.outcome == "failed"]
    for o in blamed:
        problems.append(f"{o.test_id} was blamed on the contract:\n{o.message}")
    if not run.outcomes:
        problems.append("no contract test ran")
    problems += raw_controls(run)
    return problems


def correct_problems(variant, run: SuiteRun) -> list[str]:
    """Why the suite raised a false alarm on a correct variant; empty when it passed, skipping nothing."""
    problems = []
    if run.returncode != 0:
        problems.append(
            f"the suite should pass on {variant.name} ({variant.defect.__doc__}), got exit {run.returncode}"
        )
    for o in run.failed.values():
        problems.append(f"{o.test_id} {o.outcome}:\n{o.message}")
    # PROFILE supplies every token, phone and code: nothing may be skipped.
    for o in run.skipped.values():
        problems.append(f"{o.test_id} skipped: {o.message}")
    if not run.outcomes:
        problems.append("no contract test ran")
    problems += raw_controls(run)
    return problems


@dataclass
class Score:
    """Faults caught and false alarms over the variants run in this session."""

    broken: dict[str, list[str]] = field(default_factory=dict)  # variant -> problems
    unjudgeable: dict[str, list[str]] = field(default_factory=dict)
    correct: dict[str, list[str]] = field(default_factory=dict)
    exits: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # variant -> (exit wanted, exit got)
    escapes: dict[str, bool] = field(default_factory=dict)  # known escape -> the suite still misses it
    runs: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        caught = [name for name, problems in self.broken.items() if not problems]
        alarms = [name for name, problems in self.correct.items() if problems]
        read = [name for name, problems in self.unjudgeable.items() if not problems]
        right = [name for name, (wanted, got) in self.exits.items() if wanted == got]
        lines = [
            f"faults caught: {len(caught)}/{len(self.broken)} broken variants; "
            f"environments read as such: {len(read)}/{len(self.unjudgeable)}; "
            f"false alarms: {len(alarms)}/{len(self.correct)} correct variants "
            f"({self.runs} suite runs in {self.seconds:.1f} s)",
            f"right verdict (exit 1 broken, 2 cannot judge, 0 correct): {len(right)}/{len(self.exits)} variants",
        ]
        missed_environments = sorted(set(self.unjudgeable) - set(read))
        if missed_environments:
            lines.append(f"not read as the environment's: {', '.join(missed_environments)}")
        missed = sorted(set(self.broken) - set(caught))
        if missed:
            lines.append(f"not caught as the catalogue says: {', '.join(missed)}")
        if alarms:
            lines.append(f"false alarms on: {', '.join(sorted(alarms))}")
        if self.escapes:
            still = sorted(name for name, escaping in self.escapes.items() if escaping)
            lines.append(
                "known escapes (gaps in the suite, tests/support/catalogue ESCAPES) still missed: "
                f"{len(still)}/{len(self.escapes)}" + (f": {', '.join(still)}" if still else "")
            )
        return lines


SCORE = pytest.StashKey[Score]()


def main(argv: list[str]) -> int:
    """Serve one catalogue variant and run the suite on it with its output in the terminal."""
    import tempfile

    from tests.support import catalogue

    known = {v.name: v for v in (*catalogue.BROKEN, *catalogue.UNJUDGEABLE, *catalogue.CORRECT, *catalogue.ESCAPES)}
    if not argv or argv[0] not in known:
        print(
            f"usage: python -m tests.support.variant_runs VARIANT [pytest args]\nvariants: {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    variant = known[argv[0]]
    with tempfile.TemporaryDirectory(prefix=f"variant-{variant.name}-") as workdir:
        database = Path(workdir) / "reference.sqlite3"
        profile = profile_for(variant, Path(workdir), database)
        with start_embedded(create_app({"DATABASE": str(database), "DEFECTS": [variant.defect]})) as server:
            print(f"{variant.name}: {variant.defect.__doc__} at {server.base_url}", flush=True)
            args = suite_args(server.base_url, None, *argv[1:], profile=profile, destructive=variant.destructive)
            command = [sys.executable, "-m", "pytest", *QUICK, *args]
            env = clean_environment({"REFERENCE_SERVER_DB": str(database)})
            return subprocess.run(command, cwd=PROJECT_ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
