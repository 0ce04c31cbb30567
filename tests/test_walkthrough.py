"""The reference server page's walkthrough (docs/reference-server.md) provokes each documented code from the
standalone reference server."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contract_suite.openapi import spec

pytestmark = pytest.mark.selftest

PAGE = spec.PROJECT_ROOT / "docs" / "reference-server.md"


def walkthrough() -> str:
    text = PAGE.read_text(encoding="utf-8")
    block = text.split("<!-- walkthrough -->", 1)[1].split("<!-- /walkthrough -->", 1)[0]
    return block.split("```sh", 1)[1].rsplit("```", 1)[0]


def serve(cwd: Path, env: dict, *args: str) -> tuple[subprocess.Popen, int]:
    server = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--port", "0", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = server.stdout.readline().strip()
    return server, int(url.rsplit(":", 1)[1])


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough uses curl, which is not installed")
def test_walkthrough_answers_every_documented_code(tmp_path):
    script = walkthrough()
    expected = [int(m) for m in re.findall(r"^put .*#\s*(\d+)\b", script, flags=re.M)]
    assert expected, "the walkthrough provokes no code (its `put ... # CODE` lines not found)"
    assert sorted(expected) == sorted(spec.load().codes), "the walkthrough must provoke each documented code once"
    env = {k: v for k, v in os.environ.items() if k != "REFERENCE_SERVER_DB"}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    main, main_port = serve(tmp_path, env)
    failing, failing_port = serve(tmp_path, env, "--db", "failing.sqlite3", "--fail-storage")
    try:
        script = script.replace("127.0.0.1:8080", f"127.0.0.1:{main_port}").replace(
            "127.0.0.1:8081", f"127.0.0.1:{failing_port}"
        )
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for server in (main, failing):
            server.terminate()
            server.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line)["code"] for line in done.stdout.splitlines() if line.strip()]
    assert answers == expected
