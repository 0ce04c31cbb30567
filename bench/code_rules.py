"""What a platform's SMS-code rules cost a run: requests sent and SMS codes asked for, on the reference server
without them and with each (a short lifetime, codes spent by any check, a code voided by a wrong try).

    python bench/code_rules.py [--generated]

Each row is one full run (the hand-written cases, --allow-destructive; with --generated the generated layer
too) against a standalone reference server on a fresh database; the profile's code command is wrapped to count
the codes it issues. Prints figures only; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "profiles" / "reference.toml"
COMMAND = 'command = "python -m reference_server issue-code {international_code} {phone}"'
RULES = {
    "no platform rules (the default)": [],
    "codes expire after 2 s (paced at 25 requests/s)": ["--code-lifetime", "2"],
    "codes spent by any check": ["--codes-spent-by-check"],
    "a code voided by one wrong try": ["--wrong-tries", "1"],
    "1 s between two codes to a number, in the profile": [],
    "1 s between two codes to a number, source says not now": [],
    "codes delivered 0.5 s after they are asked": [],
    "the code command reads another system's codes": [],
}
PACED = {"codes expire after 2 s (paced at 25 requests/s)": ["--rate-limit", "25"]}
# What the profile's code command (the reference's issue-code) is given, and profile lines added, for a row
ISSUE_OPTIONS = {
    "1 s between two codes to a number, in the profile": ["--min-interval", "1"],
    "1 s between two codes to a number, source says not now": ["--min-interval", "1"],
    "codes delivered 0.5 s after they are asked": ["--delivery-seconds", "0.5"],
}
PROFILE_LINES = {"1 s between two codes to a number, in the profile": "min_interval_seconds = 1"}
ANOTHER_SYSTEM = "the code command reads another system's codes"


def counting_profile(folder: Path, name: str) -> Path:
    """profiles/reference.toml whose code command also appends a line to folder/codes for each code it sends (a
    "not now" sends none), with the row's issue-code options and profile lines."""
    counter = folder / "codes"
    script = folder / "issue.py"
    db = ["--db", str(folder / "another-system.sqlite3")] if name == ANOTHER_SYSTEM else []
    script.write_text(
        "import subprocess, sys\n"
        "args = [sys.executable, '-m', 'reference_server', 'issue-code', *sys.argv[1:]]\n"
        f"status = subprocess.call(args + {ISSUE_OPTIONS.get(name, []) + db!r})\n"
        f"if status == 0:\n    open({str(counter)!r}, 'a').write('x\\n')\n"
        "sys.exit(status)\n",
        encoding="utf-8",
    )
    line = f'command = "python {script} {{international_code}} {{phone}}"'
    if name in PROFILE_LINES:
        line += "\n" + PROFILE_LINES[name]
    text = PROFILE.read_text(encoding="utf-8").replace(COMMAND, line)
    path = folder / "profile.toml"
    path.write_text(text, encoding="utf-8")
    return path


def one_run(name: str, options: list[str], generated: bool) -> tuple[str, int, int, float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "reference.sqlite3"
        server = subprocess.Popen(
            [sys.executable, "-m", "reference_server", "--port", "0", "--db", str(db), *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
        )
        try:
            url = server.stdout.readline().strip()
            selection = [] if generated else ["-m", "not generated"]
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "contract_tests", *selection, "-p", "no:cacheprovider", "-q"]
                + ["--base-url", url, "--profile", str(counting_profile(folder, name)), "--allow-destructive"]
                + PACED.get(name, ["--rate-limit", "0"]),
                cwd=ROOT,
                env={**os.environ, "REFERENCE_SERVER_DB": str(db)},
                capture_output=True,
                text=True,
            )
            seconds = time.monotonic() - started
        finally:
            server.terminate()
            server.wait()
        sent = re.search(r"the run sent (\d+) request\(s\)", done.stdout)
        codes = (folder / "codes").read_text().count("x") if (folder / "codes").exists() else 0
        lines = done.stdout.splitlines()
        verdict = next((line for line in lines if line.startswith(("HOLDS", "BROKEN", "CANNOT"))), "")
        return name, int(sent.group(1)) if sent else -1, codes, seconds, verdict.split(":")[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", action="store_true", help="run the generated layer too")
    args = parser.parse_args()
    print(f"{'target':<50} {'requests':>8} {'SMS codes':>9} {'wall s':>7}  verdict")
    for name, options in RULES.items():
        row = one_run(name, options, args.generated)
        print(f"{row[0]:<50} {row[1]:>8} {row[2]:>9} {row[3]:>7.1f}  {row[4]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
