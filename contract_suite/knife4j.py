"""`python -m contract_suite.knife4j import PAGE.md [--into SPEC]`: the OpenAPI operation a knife4j markdown page
describes, printed as YAML, or added to a spec (contract_suite.openapi.importer reads the page). With --into, the
spec is then loaded and linted, and what the author must still add is listed.

Exit 0: imported (and, with --into, the spec still loads); 4: the page or the spec cannot be read, the spec already
has that operation, or the spec no longer loads with it (nothing written)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from contract_suite.openapi import knife4j, lint, spec
from contract_suite.openapi.importer import Imported, PageNotImportable, import_page

EXIT_INPUT = 4


def imported_yaml(imported: Imported, indent: int = 0) -> str:
    """The operation under its path and method, as YAML (indented by `indent` spaces)."""
    text = yaml.safe_dump(
        {imported.path: {imported.method: imported.operation}}, sort_keys=False, allow_unicode=True, width=120
    )
    return "".join(" " * indent + line if line.strip() else line for line in text.splitlines(keepends=True))


def added_to(spec_text: str, imported: Imported) -> str:
    """The spec's text with the operation's path added first under its `paths:` (the rest kept as written)."""
    lines = spec_text.splitlines(keepends=True)
    at = next((n for n, line in enumerate(lines) if line.rstrip() == "paths:"), None)
    if at is None:
        raise PageNotImportable("the spec has no top-level `paths:` mapping to add the operation to")
    return "".join([*lines[: at + 1], imported_yaml(imported, indent=2), *lines[at + 1 :]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contract_suite.knife4j",
        description="Turn a knife4j markdown page into the OpenAPI operation it describes.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser("import", help="print (or, with --into, add to a spec) the page's operation")
    importing.add_argument("page", type=Path, help="the knife4j page (markdown, as knife4j exports one API)")
    importing.add_argument("--into", type=Path, metavar="SPEC", help="add the operation to this OpenAPI spec")
    args = parser.parse_args(argv)
    try:
        text = args.page.read_text(encoding="utf-8")
        imported = import_page(knife4j.parse(text, str(args.page)), text)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.page}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return EXIT_INPUT
    except PageNotImportable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if args.into is None:
        sys.stdout.write(imported_yaml(imported))
        _say_what_is_left(imported, [])
        return 0
    return _into(args.into, imported)


def _into(path: Path, imported: Imported) -> int:
    try:
        before = path.read_text(encoding="utf-8")
        document = spec.load_document(path)
    except (OSError, spec.SpecError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if imported.method in ((document.get("paths") or {}).get(imported.path) or {}):
        print(f"error: {path} already has {imported.method.upper()} {imported.path}", file=sys.stderr)
        return EXIT_INPUT
    try:
        after = added_to(before, imported)
    except PageNotImportable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    path.write_text(after, encoding="utf-8")
    try:
        spec.load_all(path)
    except spec.SpecError as exc:
        path.write_text(before, encoding="utf-8")
        print(f"error: with the operation added, the spec does not load ({exc}); {path} is as it was", file=sys.stderr)
        return EXIT_INPUT
    problems = [p for rule in lint.RULES for p in rule(spec.load_document(path))]
    print(f"added {imported.method.upper()} {imported.path} to {path}")
    _say_what_is_left(imported, problems)
    return 0


def _say_what_is_left(imported: Imported, problems: list) -> None:
    print("still to add by hand (the page does not say):", file=sys.stderr)
    for item in imported.still_to_add:
        print(f"  - {item}", file=sys.stderr)
    if problems:
        print(f"the spec lint finds {len(problems)} problem(s) now:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
