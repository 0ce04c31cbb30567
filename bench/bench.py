"""How fast the suite reaches a verdict, next to `st run` alone and a plain requests loop (the floor).

    python bench/bench.py [--runs 3] [--examples N]      (or: tox -e bench)

Everything runs against one standalone reference server (bench/counting_server.py, its own process,
which counts the requests it answers). Each figure is the median of --runs runs, with min and max.
Prints figures only; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import requests

from contract_suite.openapi import spec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: its tests/support
from tests.support.suite import target_args  # noqa: E402 (after the root is on the path)

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "reference.toml"
TARGET_WALL_S = 10.0  # the full default run, 2-core machine
TARGET_GENERATED_VS_ST = 1.2
TARGET_SUITE_VS_FLOOR = 3.0


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "counting_server.py"), str(db)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    url = server.stdout.readline().strip()
    if not url.startswith("http://"):
        server.kill()
        sys.exit(f"bench: the reference server did not start (printed {url!r})")
    return server, url


def count(url: str) -> int:
    return int(requests.get(url + "/__bench/count", timeout=5).text)


def timed(command: list[str], url: str, env: dict, timing_file: Path | None = None) -> dict:
    """Run a command; wall time, requests the server answered, and (pytest) time to collection end."""
    before = count(url)
    if timing_file is not None and timing_file.exists():
        timing_file.unlink()
    started = time.time()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.time() - started
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        sys.exit(f"bench: {' '.join(command[:6])} ... exited {done.returncode}:\n{tail}")
    result = {"wall": wall, "requests": count(url) - before}
    if timing_file is not None and timing_file.exists():
        result["startup"] = float(timing_file.read_text()) - started
        result["sending"] = wall - result["startup"]
    return result


def floor(url: str, token: str, n: int) -> dict:
    """n plain PUTs on one keep-alive session: what sending the requests costs at the least."""
    operation = spec.load()
    session = requests.Session()
    params = {p.name: p.example for p in operation.parameters}
    before = count(url)
    started = time.perf_counter()
    for _ in range(n):
        answer = session.request(
            operation.method, url + operation.path, params=params, headers={operation.token_header: token}, timeout=10
        )
        _ = answer.content  # read the whole body, as the suite does
    wall = time.perf_counter() - started
    return {"wall": wall, "requests": count(url) - before}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):8.3f} (min {min(values):.3f}, max {max(values):.3f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3; at least 3 for a median)")
    parser.add_argument(
        "--examples", type=int, default=None, help="generated fuzzing budget (default: schemathesis.toml's)"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    settings = tomllib.loads((ROOT / "schemathesis.toml").read_text())
    examples = args.examples or settings["generation"]["max-examples"]
    token = tomllib.loads(PROFILE.read_text())["tokens"]["valid"]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = tmp / "bench.sqlite3"
        server, url = start_server(db)
        # as users run it: with bytecode caches (some machines set PYTHONDONTWRITEBYTECODE, which makes every run
        # compile schemathesis, hypothesis and pytest's assertion rewrites anew)
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "REFERENCE_SERVER_DB": str(db),
            "CONTRACT_TOKEN": token,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")]),
            "BENCH_TIMING_FILE": str(tmp / "collected"),
        }
        base = [
            sys.executable,
            "-m",
            "pytest",
            "contract_tests",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "timing_plugin",
            *target_args(url, str(PROFILE)),
            "--allow-destructive",
            "--rate-limit",
            "0",
            "--max-requests",
            "0",
            "--generated-examples",
            str(examples),
        ]
        st = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            "schemathesis.toml",
            "run",
            "spec/openapi.yaml",
            "--url",
            url,
            "-n",
            str(examples),
        ]
        figures: dict[str, list[dict]] = {"suite": [], "generated": [], "st": [], "floor": []}
        try:
            for _ in range(args.runs):
                figures["suite"].append(timed(base, url, env, tmp / "collected"))
                figures["generated"].append(timed(base + ["-m", "generated"], url, env, tmp / "collected"))
                figures["st"].append(timed(st, url, env))
                figures["floor"].append(floor(url, token, figures["suite"][-1]["requests"]))
        finally:
            server.terminate()
            server.wait(timeout=10)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()}"
    )
    print(f"runs per figure: {args.runs}; generated fuzzing budget: {examples}\n")
    print(f"{'':34} {'wall s (median, min, max)':38} {'requests':>8} {'req/s':>8} {'ms/req':>8}")
    per_request = {}
    labels = {
        "suite": "1. full default suite",
        "generated": "   its generated layer alone",
        "st": "2. st run (same checks, budget)",
        "floor": "3. requests loop (the floor)",
    }
    for key, label in labels.items():
        walls = [f["wall"] for f in figures[key]]
        reqs = statistics.median(f["requests"] for f in figures[key])
        cost = statistics.median(f["wall"] / max(f["requests"], 1) for f in figures[key])
        per_request[key] = cost
        print(f"{label:34} {spread(walls):38} {reqs:8.0f} {1 / cost:8.1f} {cost * 1000:8.2f}")
    for key in ("suite", "generated"):
        startup = [f["startup"] for f in figures[key] if "startup" in f]
        sending = [f["sending"] for f in figures[key] if "sending" in f]
        if startup:
            print(f"   {key}: start-up to collection end {spread(startup)} s; running the cases {spread(sending)} s")
        if key == "generated" and sending:
            per_request["generated_sending"] = statistics.median(
                f["sending"] / max(f["requests"], 1) for f in figures[key] if "sending" in f
            )

    print()
    suite_wall = statistics.median(f["wall"] for f in figures["suite"])
    ratios = [
        ("full default run, wall s", suite_wall, TARGET_WALL_S),
        (
            "generated layer per request / st run per request",
            per_request["generated"] / per_request["st"],
            TARGET_GENERATED_VS_ST,
        ),
        ("suite per request / floor per request", per_request["suite"] / per_request["floor"], TARGET_SUITE_VS_FLOOR),
    ]
    if "generated_sending" in per_request:
        ratios.insert(
            2,
            (
                "  the same, start-up left out",
                per_request["generated_sending"] / per_request["st"],
                TARGET_GENERATED_VS_ST,
            ),
        )
    print(f"{'figure':52} {'value':>8} {'target':>8}  verdict")
    for name, value, target in ratios:
        verdict = (
            "met" if value <= target else f"missed by {value - target:.2f} ({(value / target - 1) * 100:.0f}% over)"
        )
        print(f"{name:52} {value:8.2f} {target:8.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
