"""How long the self-tests take against one default contract run, measured one after the other in the same
process on this machine (the goal: at most 30 times). Prints figures; asserts nothing.

    python bench/selftest_ratio.py [--runs N]   # one uncounted run, N default contract runs (median), then the
                                                # self-tests once (four files at a time, as the README's test
                                                # command runs them)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 30.0


def wall(*args: str) -> tuple[float, int]:
    # without the outer settings, and with bytecode caches (as the self-tests' own suite runs have them)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTRACT_", "PYTEST_", "PYTHONDONTWRITEBYTECODE"))}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - started, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="default contract runs to take the median of")
    args = parser.parse_args()
    wall("contract_tests")  # not counted: the first run after a checkout writes the bytecode caches
    contract = []
    for _ in range(args.runs):
        seconds, code = wall("contract_tests")
        contract.append(seconds)
        print(f"default contract run: {seconds:.1f} s (exit {code})", flush=True)
    selftests, code = wall("-n", "4", "--dist", "loadfile", "tests")  # as the README's test command runs them
    median = statistics.median(contract)
    ratio = selftests / median
    print(f"self-tests: {selftests:.1f} s (exit {code})")
    print(
        f"ratio: {ratio:.1f}x one default contract run ({median:.1f} s, median of {args.runs}); goal at most "
        f"{GOAL:g}x: {'met' if ratio <= GOAL else 'missed'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
