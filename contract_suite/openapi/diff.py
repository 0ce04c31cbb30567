"""What a spec change does to the contract: each change between two versions of the spec, classified by what it
does to an app written against the old one (breaking, needs attention, compatible), with what it means for the
suite's users (profiles, cases, the reference server). It knows this API's outcomes: business codes inside an HTTP
200 envelope, a missing-code per required parameter, a message per code.

    python -m contract_suite.diff OLD NEW [--fail-on breaking|attention] [--format text|json|github]

OLD and NEW are spec files; either may be a git revision and path (`origin/main:spec/openapi.yaml`). Exit 0: no
breaking change (or none of the --fail-on class); 1: there is; 4: an input that does not load.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from contract_suite.openapi import spec

BREAKING, ATTENTION, COMPATIBLE = "breaking", "needs attention", "compatible"
LEVELS = (BREAKING, ATTENTION, COMPATIBLE)
EXIT_BAD_INPUT = 4


@dataclass(frozen=True)
class Change:
    level: str
    rule: str  # what changed, in the words of this API
    old_pointer: str  # JSON pointer in the old spec ("" when the thing is new)
    new_pointer: str  # JSON pointer in the new spec ("" when the thing is gone)
    old: str
    new: str
    impact: str = ""  # what else must change: profiles, hand-written cases, the reference server

    def text(self) -> str:
        where = " -> ".join(p for p in (self.old_pointer, self.new_pointer) if p) or "(the document)"
        line = f"[{self.level}] {self.rule}: {self.old or '(none)'} -> {self.new or '(none)'} at {where}"
        return line + (f"\n    for the suite: {self.impact}" if self.impact else "")


def _op_pointer(operation: spec.Operation) -> str:
    return spec.pointer("paths", operation.path, operation.method.lower())


def _param_pointer(operation: spec.Operation, parameter: spec.Parameter) -> str:
    return f"{_op_pointer(operation)}/parameters/{operation.parameters.index(parameter)}"


def _code_pointer(operation: spec.Operation, code: int) -> str:
    return f"{_op_pointer(operation)}/x-business-codes/{code}"


def _envelope_pointer(operation: spec.Operation, *parts: str) -> str:
    return spec.pointer(
        "paths",
        operation.path,
        operation.method.lower(),
        "responses",
        "200",
        "content",
        "application/json",
        "schema",
        *parts,
    )


def diff_specs(old: spec.Spec, new: spec.Spec) -> list[Change]:
    """Every change between two specs, operation by operation (matched by operationId, else method and path)."""
    changes: list[Change] = []
    new_by_key = {_key(op): op for op in new.operations}
    matched = set()
    for before in old.operations:
        after = new_by_key.get(_key(before)) or next(
            (op for op in new.operations if (op.method, op.path) == (before.method, before.path)), None
        )
        if after is None:
            changes.append(
                Change(
                    BREAKING,
                    f"operation {before.label} removed",
                    _op_pointer(before),
                    "",
                    f"{before.method} {before.path}",
                    "",
                    "its cases no longer run",
                )
            )
            continue
        matched.add(_key(after))
        changes += _operation_changes(before, after)
    for after in new.operations:
        if _key(after) not in matched:
            changes.append(
                Change(
                    ATTENTION,
                    f"operation {after.label} added",
                    "",
                    _op_pointer(after),
                    "",
                    f"{after.method} {after.path}",
                    "its generic cases run by themselves; its business rules need hand-written cases "
                    "(docs/extending.md)",
                )
            )
    return changes


def _key(operation: spec.Operation) -> str:
    return operation.operation_id or f"{operation.method} {operation.path}"


def _operation_changes(old: spec.Operation, new: spec.Operation) -> list[Change]:
    found: list[Change] = []
    op_old, op_new = _op_pointer(old), _op_pointer(new)
    if (old.method, old.path) != (new.method, new.path):
        found.append(
            Change(
                BREAKING,
                "the path or method changed",
                op_old,
                op_new,
                f"{old.method} {old.path}",
                f"{new.method} {new.path}",
                "apps call the old one",
            )
        )
    if old.token_header != new.token_header:
        found.append(
            Change(
                BREAKING,
                "the token header changed",
                op_old,
                op_new,
                old.token_header,
                new.token_header,
                "apps send the token in the old header; profiles with [target] token_header need the new one",
            )
        )
    found += _parameter_changes(old, new)
    found += _code_changes(old, new)
    found += _envelope_changes(old, new)
    return found


def _parameter_changes(old: spec.Operation, new: spec.Operation) -> list[Change]:
    found: list[Change] = []
    before = {p.name: p for p in old.parameters}
    after = {p.name: p for p in new.parameters}
    for name, p in after.items():
        if name not in before:
            if p.required:
                found.append(
                    Change(
                        BREAKING,
                        f"new required parameter {name}",
                        "",
                        _param_pointer(new, p),
                        "",
                        "required" + (f", missing-code {p.missing_code}" if p.missing_code is not None else ""),
                        "apps do not send it; give it an `example` (the suite's requests send it) and an "
                        "`x-missing-code` (its absent and blank cases expect that code)",
                    )
                )
            else:
                found.append(
                    Change(
                        ATTENTION,
                        f"new optional parameter {name}",
                        "",
                        _param_pointer(new, p),
                        "",
                        "optional",
                        "apps may not send it",
                    )
                )
            continue
        q = before[name]
        if p.required and not q.required:
            found.append(
                Change(
                    BREAKING,
                    f"parameter {name} became required",
                    _param_pointer(old, q),
                    _param_pointer(new, p),
                    "optional",
                    "required",
                    "apps that leave it out now get its missing-code",
                )
            )
        if q.required and not p.required:
            found.append(
                Change(
                    ATTENTION,
                    f"parameter {name} became optional",
                    _param_pointer(old, q),
                    _param_pointer(new, p),
                    "required",
                    "optional",
                    "apps may leave it out now; its missing-code no longer means 'please enter' it, and the "
                    "suite's absent and blank cases for it no longer run",
                )
            )
        if p.missing_code != q.missing_code:
            found.append(
                Change(
                    BREAKING,
                    f"the missing-code of parameter {name} changed",
                    _param_pointer(old, q),
                    _param_pointer(new, p),
                    _shown(q.missing_code),
                    _shown(p.missing_code),
                    "apps that map the old code to 'please enter' miss it; the reference server's "
                    "REQUIRED_PARAMS needs the new code",
                )
            )
        if p.role != q.role:
            found.append(
                Change(
                    BREAKING,
                    f"the x-role of parameter {name} changed",
                    _param_pointer(old, q),
                    _param_pointer(new, p),
                    _shown(q.role),
                    _shown(p.role),
                    "the suite builds its requests by role: the cases send another value there",
                )
            )
        if _without_words(p.schema) != _without_words(q.schema):
            found.append(
                Change(
                    ATTENTION,
                    f"the schema of parameter {name} changed",
                    _param_pointer(old, q),
                    _param_pointer(new, p),
                    json.dumps(q.schema, sort_keys=True, ensure_ascii=False),
                    json.dumps(p.schema, sort_keys=True, ensure_ascii=False),
                    "apps may send values it now refuses, or it accepts values apps never sent; the generated "
                    "layer's cases follow the new schema",
                )
            )
        if (p.description, p.example) != (q.description, q.example):
            found.append(
                Change(
                    COMPATIBLE,
                    f"the description or example of parameter {name} changed",
                    _param_pointer(old, q),
                    _param_pointer(new, p),
                    "",
                    "",
                )
            )
    for name, q in before.items():
        if name not in after and q.required:
            found.append(
                Change(
                    BREAKING,
                    f"required parameter {name} removed or renamed",
                    _param_pointer(old, q),
                    "",
                    name,
                    "",
                    "apps keep sending it; the profile's value for it is unused",
                )
            )
        elif name not in after:
            found.append(Change(ATTENTION, f"optional parameter {name} removed", _param_pointer(old, q), "", name, ""))
    return found


def cases_exercising(name: str, cases: Path = spec.PROJECT_ROOT / "contract_tests") -> list[str]:
    """The hand-written cases marked `exercises("<name>")` (test function names), read from the case files."""
    found = []
    for path in sorted(cases.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(rf'exercises\([^)]*"{re.escape(name)}"[^)]*\)(?:.|\n)*?\ndef (\w+)', text):
            found.append(f"{path.name}::{match.group(1)}")
    return found


def _touched(name: str) -> str:
    cases = cases_exercising(name)
    return f" (hand-written: {', '.join(cases)})" if cases else ""


def _code_changes(old: spec.Operation, new: spec.Operation) -> list[Change]:
    found: list[Change] = []
    by_name_new = {c.name: c for c in new.codes.values()}
    for number, entry in old.codes.items():
        moved = by_name_new.get(entry.name)
        if number not in new.codes:
            if moved is not None:
                found.append(
                    Change(
                        BREAKING,
                        f"documented code {entry.name} renumbered",
                        _code_pointer(old, number),
                        _code_pointer(new, moved.code),
                        str(number),
                        str(moved.code),
                        "apps test the old number; the hand-written case, the reference server's "
                        f"constant and the knife4j page follow the new one{_touched(entry.name)}",
                    )
                )
            else:
                found.append(
                    Change(
                        BREAKING,
                        f"documented code {number} {entry.name} removed",
                        _code_pointer(old, number),
                        "",
                        str(number),
                        "",
                        "apps that handle it never see it; its hand-written case and the reference server's step go"
                        + _touched(entry.name),
                    )
                )
            continue
        now = new.codes[number]
        if now.name != entry.name:
            found.append(
                Change(
                    BREAKING,
                    f"code {number} given to another outcome",
                    _code_pointer(old, number),
                    _code_pointer(new, number),
                    entry.name,
                    now.name,
                    "apps read the old meaning; the case marked exercises(old name) needs the new one"
                    + _touched(entry.name),
                )
            )
        if now.success != entry.success:
            found.append(
                Change(
                    BREAKING,
                    "the success code changed",
                    _code_pointer(old, number),
                    _code_pointer(new, number),
                    str(old.success_code),
                    str(new.success_code),
                    "apps test success by the old code",
                )
            )
        if now.message != entry.message:
            found.append(
                Change(
                    ATTENTION,
                    f"the message of code {number} changed",
                    _code_pointer(old, number),
                    _code_pointer(new, number),
                    entry.message,
                    now.message,
                    "apps that show or match the message; the reference server's MESSAGES and the knife4j page follow",
                )
            )
        if now.provoked_by != entry.provoked_by:
            found.append(
                Change(
                    COMPATIBLE,
                    f"what provokes code {number} reworded",
                    _code_pointer(old, number),
                    _code_pointer(new, number),
                    "",
                    "",
                )
            )
    names_old = {c.name for c in old.codes.values()}
    for number, entry in new.codes.items():
        if number not in old.codes and entry.name not in names_old:
            found.append(
                Change(
                    ATTENTION,
                    f"new documented code {number} {entry.name}",
                    "",
                    _code_pointer(new, number),
                    "",
                    str(number),
                    "apps may not handle it; it needs a hand-written case, a reference server step and "
                    "a broken server (docs/extending.md), or --require-all-codes exits 2",
                )
            )
    return found


def _envelope_changes(old: spec.Operation, new: spec.Operation) -> list[Change]:
    found: list[Change] = []
    before, after = old.envelope_schema or {}, new.envelope_schema or {}
    props_old, props_new = before.get("properties") or {}, after.get("properties") or {}
    for field_name in sorted(set(props_old) | set(props_new)):
        was, now = props_old.get(field_name), props_new.get(field_name)
        pointer_old, pointer_new = (
            _envelope_pointer(old, "properties", field_name),
            _envelope_pointer(new, "properties", field_name),
        )
        if now is None:
            found.append(Change(BREAKING, f"envelope field {field_name} removed", pointer_old, "", field_name, ""))
        elif was is None:
            level = BREAKING if field_name in (after.get("required") or []) else COMPATIBLE
            found.append(Change(level, f"envelope field {field_name} added", "", pointer_new, "", field_name))
        elif _types(was) != _types(now):
            found.append(
                Change(
                    BREAKING,
                    f"the type of envelope field {field_name} changed",
                    pointer_old,
                    pointer_new,
                    "/".join(_types(was)),
                    "/".join(_types(now)),
                    "apps parse the old type; the envelope check follows the spec",
                )
            )
    req_old, req_new = set(before.get("required") or []), set(after.get("required") or [])
    for field_name in sorted(req_old - req_new):
        if field_name in props_new:
            found.append(
                Change(
                    BREAKING,
                    f"envelope field {field_name} no longer always present",
                    _envelope_pointer(old, "required"),
                    _envelope_pointer(new, "required"),
                    "required",
                    "optional",
                    "apps read it unconditionally",
                )
            )
    return found


def _types(schema: dict) -> tuple[str, ...]:
    found = schema.get("type")
    if found is None and "anyOf" in schema:
        return tuple(sorted(t for s in schema["anyOf"] for t in _types(s)))
    return tuple(sorted(found)) if isinstance(found, list) else (str(found),)


def read_spec(argument: str, workdir: Path) -> spec.Spec:
    """A spec from a file, or from `REVISION:PATH` in the git repository of the working folder."""
    path = Path(argument)
    if not path.is_file() and ":" in argument:
        done = subprocess.run(["git", "show", argument], capture_output=True, timeout=60)
        if done.returncode != 0:
            raise spec.SpecError(f"{argument}: no such file, and git cannot show it ({done.stderr.decode().strip()})")
        path = workdir / (argument.replace("/", "_").replace(":", "_") + ".yaml")
        path.write_bytes(done.stdout)
    if not path.is_file():
        raise spec.SpecError(f"{argument}: no such file")
    return spec.load_all(path)


def _without_words(schema: dict) -> dict:
    """A schema without the words for readers (its description, title, examples): what it accepts."""
    return {k: v for k, v in schema.items() if k not in ("description", "title", "example", "examples")}


def _shown(value: object) -> str:
    """A spec value in a change's words: "(none)" where the spec gives none."""
    return "(none)" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    description = " ".join(__doc__.split("\n\n")[0].split())  # the whole first paragraph
    parser = argparse.ArgumentParser(prog="python -m contract_suite.diff", description=description)
    parser.add_argument("old", help="the spec before the change (a file, or REVISION:PATH)")
    parser.add_argument("new", help="the spec after it (a file, or REVISION:PATH)")
    parser.add_argument(
        "--fail-on",
        choices=("breaking", "attention"),
        default="breaking",
        help="exit 1 on breaking changes (default), or on those needing attention too",
    )
    parser.add_argument("--format", choices=("text", "json", "github"), default="text")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            old, new = read_spec(args.old, Path(tmp)), read_spec(args.new, Path(tmp))
        except spec.SpecError as exc:
            print(f"contract_suite.diff: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
    changes = sorted(diff_specs(old, new), key=lambda c: LEVELS.index(c.level))
    if args.format == "json":
        print(json.dumps([asdict(c) for c in changes], indent=2, ensure_ascii=False))
    elif args.format == "github":
        for c in changes:
            kind = {BREAKING: "error", ATTENTION: "warning", COMPATIBLE: "notice"}[c.level]
            print(
                f"::{kind} title={c.level}::{c.rule}: {c.old or '(none)'} -> {c.new or '(none)'} "
                f"({c.new_pointer or c.old_pointer}){' ' + c.impact if c.impact else ''}"
            )
    else:
        for c in changes:
            print(c.text())
        counts = {level: sum(c.level == level for c in changes) for level in LEVELS}
        print("no change" if not changes else ", ".join(f"{n} {level}" for level, n in counts.items()))
    failing = {BREAKING} if args.fail_on == "breaking" else {BREAKING, ATTENTION}
    return 1 if any(c.level in failing for c in changes) else 0


if __name__ == "__main__":
    sys.exit(main())
