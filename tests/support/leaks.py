"""Looking for secrets in everything a run produced: its output and every file it wrote."""

from __future__ import annotations

import base64
import binascii
import os
import re
import sqlite3
import tomllib
from pathlib import Path

SKIP_DIRS = {".git", ".venv", "venv", ".tox", "__pycache__", "node_modules"}


def profile_tokens(profile: Path) -> list[str]:
    """The profile's tokens, and each without its "Bearer " prefix."""
    tokens = list(tomllib.loads(profile.read_text(encoding="utf-8")).get("tokens", {}).values())
    return tokens + [t.split(" ", 1)[1] for t in tokens if " " in t]


def issued_codes(database: Path) -> list[str]:
    """Every SMS code the reference server issued into database."""
    if not database.is_file():
        return []
    with sqlite3.connect(database) as conn:
        return [row[0] for row in conn.execute("SELECT code FROM sms_codes")]


def files_written_since(root: Path, since: float) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            path = Path(folder, name)
            try:
                if path.stat().st_mtime >= since:
                    found.append(path)
            except OSError:
                continue
    return found


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if re.search(rf"(?<![0-9A-Za-z]){re.escape(s)}(?![0-9A-Za-z])", text)]


def leaks_in(produced: dict[str, str], secrets: list[str]) -> dict[str, list[str]]:
    """{where: [secrets found there]} for every place that holds one."""
    found = {where: leaks(text, secrets) for where, text in produced.items()}
    return {where: hits for where, hits in found.items() if hits}


def read_files(paths: list[Path]) -> dict[str, str]:
    texts = {}
    for path in paths:
        try:
            texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return texts


def with_data_urls(produced: dict[str, str]) -> dict[str, str]:
    """produced, plus the decoded payload of every base64 data URL in it (a self-contained HTML report keeps its
    attachments so), each under "<where> (data URL <n>)"."""
    found = dict(produced)
    for where, text in produced.items():
        payloads = re.findall(r"data:[^,\"']*;base64,([A-Za-z0-9+/=]+)", text)
        for number, payload in enumerate(payloads):
            try:
                found[f"{where} (data URL {number})"] = base64.b64decode(payload).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                continue
    return found
