"""Runs the contract suite (`pytest contract_tests`) in a subprocess against a variant of the
reference server and reads its verdict from the JUnit XML; judges the verdict against the catalogue.

Alone, to watch the suite on one variant: `python -m tests.support.variant_runs VARIANT [pytest args]`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reference_server import create_app, start_embedded
from tests.support.junit import Outcome, case_of, is_hand_written, read_junit
from tests.support.suite import QUICK, WITHOUT_GENERATED, clean_environment, run_pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROFILE = "profiles/reference.toml"
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
MAX_WORKERS = 3  # on 2 cores: one run waits on its server or code command while two compute
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


def suite_args(base_url: str, junit: Path | None, *more: str) -> list[str]:
    """The pytest arguments of a run against the variant at base_url."""
    args = [
        "contract_tests",
        "--base-url",
        base_url,
        "--profile",
        PROFILE,
        "--allow-destructive",
        *UNLIMITED,
        *UNUSED_PLUGINS,
        *LINT_ARGS,
        *EXTRA_ARGS,
    ]
    if junit is not None:
        args += ["--junitxml", str(junit), "-q"]
    return args + list(more)


def run_suite(defect: type, workdir: Path, hand_written_only: bool = False) -> SuiteRun:
    """Serve the reference app with `defect` mixed in on a fresh database in workdir; run the suite on it."""
    database, junit = workdir / "reference.sqlite3", workdir / "junit.xml"
    app = create_app({"DATABASE": str(database), "DEFECTS": [defect]})
    server = start_embedded(app)
    started = time.monotonic()
    try:
        args = suite_args(server.base_url, junit, *(HAND_WRITTEN_ONLY if hand_written_only else ()))
        # the profile's code command, `python -m reference_server issue-code`, finds the variant's database here
        done = run_pytest(*args, env={"REFERENCE_SERVER_DB": str(database)}, timeout=SUITE_TIMEOUT_SECONDS)
        output = done.output
        if done.returncode is None:
            output += f"\n(no verdict within {SUITE_TIMEOUT_SECONDS:g} s)"
    finally:
        server.stop()
    outcomes = read_junit(junit) if junit.is_file() else {}
    return SuiteRun(defect.__name__, args, done.returncode, outcomes, output, time.monotonic() - started, junit)


def run_all(
    defects: Iterable[type], workdir_for, workers: int = MAX_WORKERS, hand_written_only: frozenset[str] = frozenset()
) -> dict[str, SuiteRun]:
    """Run the suite against each defect, `workers` runs at a time; workdir_for(name) gives a fresh folder;
    the defects named in hand_written_only are run without the generated layer."""
    defects = list(defects)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="suite-run") as pool:
        futures = {
            d.__name__: pool.submit(run_suite, d, workdir_for(d.__name__), d.__name__ in hand_written_only)
            for d in defects
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
    if variant.sole and run.hand_written_failures() != variant.cases:
        problems.append(
            f"{variant.name} is stated to be caught by {sorted(variant.cases)} alone; "
            f"the hand-written cases that failed: {sorted(run.hand_written_failures())}"
        )
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
    # profiles/reference.toml supplies every token, phone and code: nothing may be skipped.
    for o in run.skipped.values():
        problems.append(f"{o.test_id} skipped: {o.message}")
    if not run.outcomes:
        problems.append("no contract test ran")
    return problems


@dataclass
class Score:
    """Faults caught and false alarms over the variants run in this session."""

    broken: dict[str, list[str]] = field(default_factory=dict)  # variant -> problems
    correct: dict[str, list[str]] = field(default_factory=dict)
    escapes: dict[str, bool] = field(default_factory=dict)  # known escape -> the suite still misses it
    runs: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        caught = [name for name, problems in self.broken.items() if not problems]
        alarms = [name for name, problems in self.correct.items() if problems]
        lines = [
            f"faults caught: {len(caught)}/{len(self.broken)} broken variants; "
            f"false alarms: {len(alarms)}/{len(self.correct)} correct variants "
            f"({self.runs} suite runs in {self.seconds:.1f} s)"
        ]
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

    known = {v.name: v for v in (*catalogue.BROKEN, *catalogue.CORRECT, *catalogue.ESCAPES)}
    if not argv or argv[0] not in known:
        print(
            f"usage: python -m tests.support.variant_runs VARIANT [pytest args]\nvariants: {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    variant = known[argv[0]]
    with tempfile.TemporaryDirectory(prefix=f"variant-{variant.name}-") as workdir:
        database = Path(workdir) / "reference.sqlite3"
        with start_embedded(create_app({"DATABASE": str(database), "DEFECTS": [variant.defect]})) as server:
            print(f"{variant.name}: {variant.defect.__doc__} at {server.base_url}", flush=True)
            command = [sys.executable, "-m", "pytest", *QUICK, *suite_args(server.base_url, None, *argv[1:])]
            env = clean_environment({"REFERENCE_SERVER_DB": str(database)})
            return subprocess.run(command, cwd=PROJECT_ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
