"""The documented-code coverage tally (contract_suite.engine.coverage) in words: the terminal's table, the judged
line, the rules of state, the other operations' sections, and the coverage JSON."""

from __future__ import annotations

import json
from pathlib import Path

from contract_suite.engine.coverage import Coverage


def table(coverage: Coverage) -> list[str]:
    lines = [f"{'code':>5}  {'name':<32} {'status':<20} {'answers':>7}  detail"]
    for row in coverage.rows():
        lines.append(
            f"{row['code']:>5}  {row['name']:<32} {row['status']:<20} {row['seen']:>7}  {row['detail']}".rstrip()
        )
    for code, count in coverage.undocumented().items():
        lines.append(f"{code:>5}  {'(undocumented)':<32} {'seen':<20} {count:>7}  not in the spec's x-business-codes")
    lines += [f"not applicable: {note}" for note in sorted(coverage.notes)]
    return lines


def judged_line(coverage: Coverage) -> str:
    """`judged N of M exercisable documented codes; not judged: CODES (why); ...`, codes grouped by why."""
    judged, missing = coverage.judged, coverage.unjudged()
    line = f"judged {len(judged)} of {len(coverage.exercisable)} exercisable documented codes"
    if missing:
        by_reason: dict[str, list[int]] = {}
        for code, why in missing.items():
            by_reason.setdefault(why, []).append(code)
        line += "; not judged: " + "; ".join(
            f"{', '.join(map(str, codes))} ({why})" for why, codes in by_reason.items()
        )
    return line


def judged_lines_of_others(coverage: Coverage) -> list[str]:
    """Each other operation's judged line, naming the operation."""
    return [f"{label}: {judged_line(part)}" for label, part in coverage.operations.items()]


def other_sections(coverage: Coverage) -> list[str]:
    """Each other operation's table and judged line, after the primary's (which keeps its own format)."""
    lines = []
    for label, part in coverage.operations.items():
        lines += ["", f"operation {label} ({part.operation.method} {part.operation.path}):"]
        lines += table(part) + [judged_line(part)]
    return lines


def rules_table(coverage: Coverage) -> list[str]:
    """The rules of state as the terminal shows them, after the codes' judged line (none: no line)."""
    rows = coverage.rule_rows()
    if not rows:
        return []
    width = max(len(row["name"]) for row in rows)
    lines = [f"{'rule of state':<{width}}  {'status':<10}  detail"]
    lines += [f"{row['name']:<{width}}  {row['status']:<10}  {row['detail']}".rstrip() for row in rows]
    return lines


def as_json(coverage: Coverage) -> dict:
    return {
        "spec": str(coverage.operation.spec_path),
        "spec_version": coverage.operation.version,
        "codes": coverage.rows(),
        "judged": coverage.judged,
        "not_judged": coverage.unjudged(),
        "notes": sorted(coverage.notes),
        "undocumented_seen": coverage.undocumented(),
        **({"rules": coverage.rule_rows()} if coverage.rules else {}),
        **(
            {"operations": {label: as_json(part) for label, part in coverage.operations.items()}}
            if coverage.operations
            else {}
        ),
    }


def write_json(coverage: Coverage, path: str | Path, mask, **more: object) -> None:
    """Write as_json() with `more` keys (the run's figures), every string passed through mask (the run's secrets)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = mask(json.dumps({**as_json(coverage), **more}, indent=2, ensure_ascii=False))
    Path(path).write_text(text + "\n", encoding="utf-8")
