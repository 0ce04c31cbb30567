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
}
PACED = {"codes expire after 2 s (paced at 25 requests/s)": ["--rate-limit", "25"]}


def counting_profile(folder: Path) -> Path:
    """profiles/reference.toml whose code command also appends a line to folder/codes for each code."""
    counter = folder / "codes"
    script = folder / "issue.py"
    script.write_text(
        "import subprocess, sys\n"
        f"open({str(counter)!r}, 'a').write('x\\n')\n"
        "sys.exit(subprocess.call([sys.executable, '-m', 'reference_server', 'issue-code', *sys.argv[1:]]))\n",
        encoding="utf-8",
    )
    text = PROFILE.read_text(encoding="utf-8").replace(
        COMMAND, f'command = "python {script} {{international_code}} {{phone}}"'
    )
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
                + ["--base-url", url, "--profile", str(counting_profile(folder)), "--allow-destructive"]
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
