"""The suite's own mutation score (issue 23): cosmic-ray mutates each module that holds a promise, one mutant at a
time, and runs the fast self-tests that cover it; a mutant the tests still pass with survived. Prints per module the
mutants, killed, survived, timeouts and time; writes each survivor's diff to .mutation/<module>.survivors.txt.

    python bench/mutation.py [MODULE ...] [--timeout S] [--keep]   # default: every module below
    python bench/mutation.py --engine                             # the engine's modules only

Why cosmic-ray: it writes each mutant into the module's file on disk and runs the test command as a fresh process,
so the self-tests' own subprocesses (the fork server, fresh interpreters) import the mutant as the pytest process
does. mutmut 3 (a mutants/ copy with trampolines chosen by an environment variable, mutants picked from the
coverage of the pytest process) and pytest-gremlins (in-memory mutation in the pytest process) would not reach a
suite run forked from the fork server, and would count a mutant only subprocesses reach as untested.

It never touches the working tree: the tracked files are copied to .mutation/tree-PID, mutated there, and every
process imports from the copy (PYTHONPATH and its working directory come before the editable install). One test
process at a time, niced: the machine is shared.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
TREE = WORK / f"tree-{os.getpid()}"  # one copy per run
UNIT = "tests/unit"  # each module's unit tests: tests/unit/test_<module>.py

# One mutant per kind of change, not cosmic-ray's every operator pair (132 binary, 56 comparison): a negation and
# a boundary for each comparison, one replacement per arithmetic operator, and the structural operators.
OPERATORS = frozenset(
    {
        "core/AddNot",
        "core/ReplaceAndWithOr",
        "core/ReplaceOrWithAnd",
        "core/ReplaceTrueWithFalse",
        "core/ReplaceFalseWithTrue",
        "core/NumberReplacer",
        "core/ZeroIterationForLoop",
        "core/ExceptionReplacer",
        "core/ReplaceBreakWithContinue",
        "core/ReplaceContinueWithBreak",
        "core/RemoveDecorator",
        "core/ReplaceUnaryOperator_Not_Nothing",
        "core/ReplaceUnaryOperator_USub_Nothing",
        "core/ReplaceBinaryOperator_Add_Sub",
        "core/ReplaceBinaryOperator_Sub_Add",
        "core/ReplaceBinaryOperator_Mul_Div",
        "core/ReplaceBinaryOperator_Div_Mul",
        "core/ReplaceBinaryOperator_FloorDiv_Mul",
        "core/ReplaceBinaryOperator_Mod_Mul",
        "core/ReplaceBinaryOperator_LShift_RShift",
        "core/ReplaceBinaryOperator_BitOr_BitAnd",
        "core/ReplaceBinaryOperator_BitAnd_BitOr",
        "core/ReplaceComparisonOperator_Eq_NotEq",
        "core/ReplaceComparisonOperator_NotEq_Eq",
        "core/ReplaceComparisonOperator_Lt_LtE",
        "core/ReplaceComparisonOperator_LtE_Lt",
        "core/ReplaceComparisonOperator_Gt_GtE",
        "core/ReplaceComparisonOperator_GtE_Gt",
        "core/ReplaceComparisonOperator_Is_IsNot",
        "core/ReplaceComparisonOperator_IsNot_Is",
        "core/ReplaceComparisonOperator_In_NotIn",
        "core/ReplaceComparisonOperator_NotIn_In",
    }
)


@dataclass(frozen=True)
class Module:
    path: str
    tests: tuple[str, ...]  # the fastest self-tests that exercise it (pytest node ids or files)
    scope: tuple[str, ...] = ()  # the functions mutated ("Class.method"); none: the whole module


# Every module of the engine, whole, against its unit tests (tests/unit mirrors the package).
ENGINE = (
    "exchange",
    "evidence",
    "ledger",
    "run",
    "sending",
    "gateway",
    "token_renewal",
    "refused_codes",
    "stack",
    "preflight",
    "start",
    "environment",
    "judging",
    "reproduce",
    "account",
    "before_blame",
    "case_toolkit",
    "coverage",
    "settings",
)
MODULES = {
    **{
        name: Module(
            f"contract_suite/engine/{name}.py",
            (f"{UNIT}/test_{name}.py", *((f"{UNIT}/test_coverage_table.py",) if name == "coverage" else ())),
        )
        for name in ENGINE
    },
    "secrets": Module(
        "contract_suite/secrets.py",
        (f"{UNIT}/test_secrets.py", "tests/test_secrets.py::test_what_a_shortened_repr_leaves_of_a_secret_is_masked"),
    ),
    "summary": Module(
        "contract_suite/reporting/summary.py",
        (f"{UNIT}/test_summary.py",),
        # the exit status and the verdict line; the header and the terminal section are read by test_verdict
        ("Verdict", "verdict_word", "verdict_line", "_verdict_words"),
    ),
    "checks": Module("contract_suite/schemathesis_layer/checks.py", ("tests/test_checks.py",)),
    "transport": Module(
        "contract_suite/http/transport.py",
        (f"{UNIT}/test_transport.py", "tests/test_hostile.py::test_a_gzip_bomb_is_inflated_no_further_than_the_cap"),
        # the bounds (cap, rate, close, body cap, decoding); not the socket error mapping of _exchange, which the
        # hostile and real-target runs judge end to end (minutes a mutant)
        (
            "NoAnswer",
            "_Decoder",
            "Transport.close",
            "Transport.slow_down",
            "Transport.wait_turn",
            "Transport._read_body",
        ),
    ),
    "network": Module(
        "contract_suite/http/network.py",
        (f"{UNIT}/test_transport.py",),
        ("Proxies", "_proxy"),  # the proxy variables, as requests and curl read them
    ),
}


def copy_tree() -> None:
    """The tracked and untracked-but-not-ignored files, as they are now, with their bytecode compiled."""
    shutil.rmtree(TREE, ignore_errors=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (TREE / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, TREE / name)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "contract_suite", "reference_server", "tests"], cwd=TREE)


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTRACT_", "PYTEST_"))}
    env["PYTHONPATH"] = str(TREE)  # before the editable install's path: the copy's packages, mutated
    return env


def test_command(module: Module) -> str:
    return shlex.join([sys.executable, str(TREE / "bench" / "mutation.py"), "--test", module.path, *module.tests])


def run_tests(module_path: str, tests: list[str]) -> int:
    """The test command of one mutant: its module's bytecode removed first. cosmic-ray keeps the pytest process from
    writing bytecode, but the suite runs it starts do write it (tests/support/suite.py), and a mutant written within
    the second its predecessor's bytecode was stamped with would be read from that bytecode."""
    source = Path(module_path)
    for stale in (source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"):
        stale.unlink(missing_ok=True)
    return subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]).returncode


def in_scope(path: Path, scope: tuple[str, ...]) -> list[tuple[int, int]] | None:
    """The line ranges of the named functions and classes (None: everything)."""
    if not scope:
        return None
    ranges: dict[str, tuple[int, int]] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                ranges[name] = (child.lineno, child.end_lineno or child.lineno)
                visit(child, f"{name}.")

    visit(ast.parse(path.read_text()), "")
    missing = [name for name in scope if name not in ranges]
    if missing:
        raise SystemExit(f"{path}: no such function or class: {missing}")
    return [ranges[name] for name in scope]


def annotations(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where the module's annotations are: with `from __future__ import annotations` Python never evaluates them,
    so a mutant there (`bool | None` to `bool & None`) is equivalent by construction."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        parts = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts.append(node.returns)
        elif isinstance(node, ast.arg):
            parts.append(node.annotation)
        elif isinstance(node, ast.AnnAssign):
            parts.append(node.annotation)
        for part in filter(None, parts):
            found.append(((part.lineno, part.col_offset), (part.end_lineno, part.end_col_offset)))
    return found


def run_module(name: str, module: Module, timeout: float, count_only: bool = False) -> dict:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    config, session = WORK / f"{name}.toml", WORK / f"{name}.sqlite"
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module.path)}\n"
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(test_command(module))}\n"
        '[cosmic-ray.distributor]\nname = "local"\n'
    )
    session.unlink(missing_ok=True)
    cosmic_ray = [str(Path(sys.executable).parent / "cosmic-ray"), "--verbosity", "ERROR"]
    env = environment()
    subprocess.run([*cosmic_ray, "init", str(config), str(session)], cwd=TREE, env=env, check=True)

    ranges = in_scope(TREE / module.path, module.scope)
    annotated = annotations(TREE / module.path)
    with use_db(str(session), WorkDB.Mode.open) as db:
        left_out, in_annotations = [], []
        for item in db.pending_work_items:
            for m in item.mutations:
                if m.operator_name not in OPERATORS or (
                    ranges is not None and not any(lo <= m.start_pos[0] <= hi for lo, hi in ranges)
                ):
                    left_out.append(item.job_id)
                elif any(start <= tuple(m.start_pos) < end for start, end in annotated):
                    in_annotations.append(item.job_id)
        db.set_multiple_results(left_out, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="not selected"))
        db.set_multiple_results(in_annotations, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output="annotation"))
        if count_only:
            mutants = db.num_work_items - len(left_out) - len(in_annotations)
            return {"module": name, "mutants": mutants, "in annotations": len(in_annotations)}

    started = time.monotonic()
    baseline = subprocess.run(shlex.split(test_command(module)), cwd=TREE, env=env, capture_output=True, text=True)
    if baseline.returncode != 0:
        raise SystemExit(f"{name}: the unmutated self-tests fail in the copy:\n{baseline.stdout[-3000:]}")
    subprocess.run([*cosmic_ray, "exec", str(config), str(session)], cwd=TREE, env=env, check=True)
    seconds = time.monotonic() - started

    counts = {"mutants": 0, "killed": 0, "survived": 0, "timeouts": 0, "incompetent": 0}
    survivors = []
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            counts["mutants"] += 1
            if result.test_outcome == TestOutcome.SURVIVED:
                counts["survived"] += 1
                mutation = item.mutations[0]
                survivors.append(f"# {mutation.operator_name} at line {mutation.start_pos[0]}\n{result.diff}\n")
            elif result.test_outcome == TestOutcome.KILLED:
                counts["timeouts" if result.output == "timeout" else "killed"] += 1
            else:
                counts["incompetent"] += 1
    (WORK / f"{name}.survivors.txt").write_text("\n".join(survivors))
    return {
        "module": name,
        **counts,
        "in annotations": len(in_annotations),
        "seconds": round(seconds),
        "scope": list(module.scope) or "whole module",
    }


def main() -> int:
    if sys.argv[1:2] == ["--test"]:  # one mutant's test run (cosmic-ray's test-command), in the copy
        return run_tests(sys.argv[2], sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"modules to mutate (default: all of {', '.join(MODULES)})")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a mutant's test run may take")
    parser.add_argument("--keep", action="store_true", help="keep the copy of the tree (.mutation/tree-PID)")
    parser.add_argument("--count", action="store_true", help="only count each module's mutants; run no test")
    parser.add_argument("--engine", action="store_true", help="the engine's modules (contract_suite/engine/)")
    args = parser.parse_args()
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"no such module: {', '.join(unknown)} (known: {', '.join(MODULES)})")
    os.nice(10)  # the machine is shared; the test processes inherit it
    WORK.mkdir(exist_ok=True)
    copy_tree()
    rows = []
    try:
        for name in args.modules or (ENGINE if args.engine else MODULES):
            row = run_module(name, MODULES[name], args.timeout, args.count)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(TREE, ignore_errors=True)
    if args.count:
        return 0
    print(f"\n{'module':<14} {'killed/mutants':>15} {'score':>6} {'survived':>8} {'timeouts':>8} {'time':>7}")
    for row in rows:
        killed = row["killed"] + row["timeouts"]
        score = 100 * killed / row["mutants"] if row["mutants"] else 100
        ratio = f"{killed}/{row['mutants']}"
        print(
            f"{row['module']:<14} {ratio:>15} {score:>5.0f}% {row['survived']:>8} {row['timeouts']:>8} "
            f"{row['seconds']:>6}s"
        )
    (WORK / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
