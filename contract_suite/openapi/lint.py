"""Spec lint: rules that keep spec/openapi.yaml valid, self-consistent and in step with its source page.

Run alone on any spec: `python -m contract_suite.lint SPEC [--knife4j PAGE]` (exit 0 clean, 1 problems, 2 usage).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from contract_suite.openapi import knife4j
from contract_suite.openapi.spec import (
    ASCII_WHITESPACE,
    SpecError,
    load_document,
    operations_in,
    pointer,
    resolve_refs,
    validation_errors,
)

ROLES = tuple(f"{side}.{what}" for side in ("old", "new") for what in ("international_code", "phone", "code"))


@dataclass(frozen=True)
class Problem:
    where: str  # a JSON pointer into the spec, or a page's table row
    message: str  # what is wrong and what was expected

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _operations(doc: dict) -> Iterator[tuple[str, dict]]:
    """(JSON pointer, operation) for each operation in the document (the spec loader's listing)."""
    for path, method, op in operations_in(doc):
        if isinstance(op, dict):
            yield pointer("paths", path, method), op


def openapi_validity(doc: dict) -> list[Problem]:
    """openapi-spec-validator's verdict, one problem per error."""
    version = str(doc.get("openapi", ""))
    validator_cls = OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator
    problems = []
    for error in validator_cls(doc).iter_errors():
        where = pointer(*error.absolute_path) if list(error.absolute_path) else "/"
        problems.append(
            Problem(where, f"not valid OpenAPI {version or '(no openapi field)'}: {error.message.splitlines()[0]}")
        )
    return problems


def _examples_of(node: dict, where: str) -> Iterator[tuple[str, Any]]:
    if "example" in node:
        yield f"{where}/example", node["example"]
    for name, example in (node.get("examples") or {}).items():
        if isinstance(example, dict) and "value" in example:
            yield f"{where}{pointer('examples', name, 'value')}", example["value"]


def examples_match_schemas(doc: dict) -> list[Problem]:
    """Every parameter, media-type and named example validates against its schema."""
    problems = []
    for op_where, op in _operations(doc):
        for index, raw in enumerate(op.get("parameters") or []):
            param = resolve_refs(doc, raw)
            schema = param.get("schema")  # its $refs resolved with the parameter's
            if not isinstance(schema, dict):
                continue
            for where, value in _examples_of(param, f"{op_where}/parameters/{index}"):
                problems += [
                    Problem(where, f"example does not fit the parameter's schema: {m}")
                    for m in validation_errors(schema, value)
                ]
        for status, response in (op.get("responses") or {}).items():
            response = resolve_refs(doc, response)
            for media, content in (response.get("content") or {}).items():
                schema = resolve_refs(doc, content.get("schema") or {})
                base = f"{op_where}{pointer('responses', status, 'content', media)}"
                for where, value in _examples_of(resolve_refs(doc, content), base):
                    problems += [
                        Problem(where, f"example does not fit the response schema: {m}")
                        for m in validation_errors(schema, value)
                    ]
    return problems


def business_codes(doc: dict) -> list[Problem]:
    """Every operation's documented codes, its parameters' missing-codes and roles, and its envelope's code enum and
    named examples: three rules, each a function of its own."""
    problems: list[Problem] = []
    for op_where, op in _operations(doc):
        table = op.get("x-business-codes")
        if not isinstance(table, dict) or not table:
            problems.append(
                Problem(f"{op_where}/x-business-codes", "expected a mapping of every documented code to its message")
            )
            continue
        found, documented, names = codes_are_named(op_where, table)
        problems += found
        problems += parameters_name_their_codes(doc, op_where, op, documented)
        problems += envelope_lists_the_codes(doc, op_where, op, documented, names)
    return problems


def codes_are_named(op_where: str, table: dict) -> tuple[list[Problem], set[int], dict[str, str]]:
    """Every documented code an integer, with a message and a distinct name; exactly one marked success. The
    problems, the codes, and each name's code (as its key was written)."""
    codes_where = f"{op_where}/x-business-codes"
    problems: list[Problem] = []
    documented: set[int] = set()
    names: dict[str, str] = {}
    for key, entry in table.items():
        where = f"{codes_where}{pointer(key)}"
        try:
            documented.add(int(key))
        except (TypeError, ValueError):
            problems.append(Problem(where, f"expected an integer code as key, got {key!r}"))
            continue
        if not isinstance(entry, dict) or not str(entry.get("message") or "").strip():
            problems.append(Problem(f"{where}/message", "expected a non-empty message for this documented code"))
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            problems.append(Problem(f"{where}/name", "expected a name (the key of this code's named example)"))
        elif name in names:
            problems.append(
                Problem(
                    f"{where}/name", f"name {name!r} is already the name of code {names[name]}: expected distinct names"
                )
            )
        else:
            names[name] = key
    successes = [k for k, e in table.items() if isinstance(e, dict) and e.get("success") is True]
    if len(successes) != 1:
        problems.append(Problem(codes_where, f"expected exactly one code marked `success: true`, found {successes}"))
    return problems, documented, names


def parameters_name_their_codes(doc: dict, op_where: str, op: dict, documented: set[int]) -> list[Problem]:
    """Each required parameter names a distinct documented missing-code; on the primary operation (its parameters
    carry x-role), each a distinct known role."""
    problems: list[Problem] = []
    seen: dict[int, str] = {}
    roles: dict[str, str] = {}
    # x-role marks the primary operation (the one the business cases build requests for): an operation
    # whose parameters carry none gets the generic cases only, from its examples.
    uses_roles = any(resolve_refs(doc, raw).get("x-role") for raw in op.get("parameters") or [])
    for index, raw in enumerate(op.get("parameters") or []):
        param = resolve_refs(doc, raw)
        where = f"{op_where}/parameters/{index}"
        name = param.get("name")
        role = param.get("x-role")
        if not uses_roles:
            pass
        elif role not in ROLES:
            problems.append(
                Problem(
                    f"{where}/x-role", f"parameter {name!r} has x-role {role!r}; expected one of {', '.join(ROLES)}"
                )
            )
        elif role in roles:
            problems.append(
                Problem(
                    f"{where}/x-role",
                    f"x-role {role!r} of {name!r} is already the role of {roles[role]!r}: expected distinct roles",
                )
            )
        else:
            roles[role] = name
        code = param.get("x-missing-code")
        if code is None:
            if param.get("required"):
                problems.append(
                    Problem(f"{where}/x-missing-code", f"required parameter {name!r} names no missing-code")
                )
            continue
        if not param.get("required"):
            problems.append(
                Problem(
                    f"{where}/required",
                    f"parameter {name!r} has missing-code {code} but is not required: expected required: true",
                )
            )
        if code not in documented:
            problems.append(
                Problem(f"{where}/x-missing-code", f"missing-code {code!r} of {name!r} is not in x-business-codes")
            )
        if code in seen:
            problems.append(
                Problem(
                    f"{where}/x-missing-code",
                    f"missing-code {code} of {name!r} is already the missing-code of {seen[code]!r}: "
                    "expected distinct codes",
                )
            )
        else:
            seen[code] = name
    lacking = [role for role in ROLES if role not in roles]
    if uses_roles and lacking:
        problems.append(
            Problem(
                f"{op_where}/parameters",
                f"no parameter has x-role {', '.join(lacking)}: the suite builds the operation's requests by role "
                "(each of old|new . international_code|phone|code once)",
            )
        )
    return problems


def envelope_lists_the_codes(
    doc: dict, op_where: str, op: dict, documented: set[int], names: dict[str, str]
) -> list[Problem]:
    """Each response's envelope lists exactly the documented codes in its `code` enum, and shows each code in a
    named example."""
    problems: list[Problem] = []
    for status, response in (op.get("responses") or {}).items():
        response = resolve_refs(doc, response)
        for media, content in (response.get("content") or {}).items():
            base = f"{op_where}{pointer('responses', status, 'content', media)}"
            schema = resolve_refs(doc, content.get("schema") or {})
            code_schema = (schema.get("properties") or {}).get("code")
            if not isinstance(code_schema, dict) or "enum" not in code_schema:
                problems.append(
                    Problem(
                        f"{base}/schema",
                        "expected the envelope's `code` property to list the documented codes in an enum",
                    )
                )
            else:
                enum = set(code_schema["enum"])
                raw_content = (((op.get("responses") or {}).get(status) or {}).get("content") or {}).get(media) or {}
                where = _enum_pointer(raw_content, base)
                if enum - documented:
                    problems.append(
                        Problem(
                            where,
                            "enum allows codes that x-business-codes does not document: "
                            f"{sorted(enum - documented, key=str)}",
                        )
                    )
                if documented - enum:
                    problems.append(Problem(where, f"enum lacks documented codes: {sorted(documented - enum)}"))
            examples = content.get("examples") or {}
            for name, key in names.items():
                example = examples.get(name)
                value = example.get("value") if isinstance(example, dict) else None
                if not isinstance(value, dict):
                    problems.append(
                        Problem(
                            f"{base}/examples", f"expected a named example {name!r} of the envelope with code {key}"
                        )
                    )
                elif value.get("code") != int(key):
                    problems.append(
                        Problem(
                            f"{base}{pointer('examples', name, 'value', 'code')}",
                            f"example {name!r} shows code {value.get('code')!r}; expected {key}, the code of that name",
                        )
                    )
    return problems


CODE_TABLE = "Business codes"  # the heading of the table in the operation's description
CODE_TABLE_COLUMNS = ("code", "name", "message", "provoked by")


def code_table_row(code: str, entry: dict) -> str:
    """The row of the description's code table that shows this x-business-codes entry."""
    cells = [code, *(str(entry.get(key, "")).strip() for key in ("name", "message", "provoked-by"))]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def missing_code_sentence(code: int, message: str) -> str:
    """The sentence a parameter's description carries to name the code its absence gets."""
    return f'Absent or blank: code {code}, "{message}".'


def _first_line(description: Any) -> str:
    lines = str(description or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def codes_shown_to_readers(doc: dict) -> list[Problem]:
    """Rendered docs hide x- extensions: the operation's description tables every code of
    x-business-codes, and each parameter's description names its missing-code."""
    problems: list[Problem] = []
    for op_where, op in _operations(doc):
        table = op.get("x-business-codes")
        if not isinstance(table, dict):
            continue  # business_codes reports it
        where = f"{op_where}/description"
        entries = {str(k): e for k, e in table.items() if isinstance(e, dict)}
        rows = knife4j.parse(str(op.get("description") or ""), "description").table(CODE_TABLE)
        if not rows:
            problems.append(
                Problem(
                    where,
                    (
                        f"expected a **{CODE_TABLE}**: table of every code in x-business-codes, "
                        f"columns {' | '.join(CODE_TABLE_COLUMNS)}"
                    ),
                )
            )
        else:
            missing = [c for c in CODE_TABLE_COLUMNS if c not in rows[0].cells]
            if missing:
                problems.append(Problem(where, f"the {CODE_TABLE} table lacks the column(s) {missing}"))
                rows = []
        shown: set[str] = set()
        for row in rows:
            code = row.cells["code"]
            place = f"{where}: line {row.line} ({CODE_TABLE} row {code!r})"
            if code in shown:
                problems.append(Problem(place, f"code {code} has a row already: expected one row a code"))
                continue
            shown.add(code)
            entry = entries.get(code)
            if entry is None:
                problems.append(Problem(place, f"code {code} is in the table but not in x-business-codes"))
                continue
            cells = {"name": "name", "message": "message", "provoked by": "provoked-by"}
            wrong = [c for c, key in cells.items() if row.cells[c] != str(entry.get(key, "")).strip()]
            if wrong:
                problems.append(
                    Problem(
                        place,
                        (
                            f"the row's {' and '.join(wrong)} {'differs' if len(wrong) == 1 else 'differ'} from "
                            f"x-business-codes; expected the row "
                            f"{code_table_row(code, entry)}"
                        ),
                    )
                )
        for code, entry in entries.items():
            if rows and code not in shown:
                problems.append(
                    Problem(
                        where,
                        (f"the {CODE_TABLE} table lacks code {code}: expected the row {code_table_row(code, entry)}"),
                    )
                )

        for place, name, param in _with_missing_codes(doc, op, op_where):
            code = param.get("x-missing-code")
            entry = entries.get(str(code))
            if entry is None:
                continue  # undocumented: business_codes reports it
            sentence = missing_code_sentence(code, str(entry.get("message", "")).strip())
            if sentence not in str(param.get("description") or ""):
                problems.append(
                    Problem(
                        f"{place}/description",
                        f"the description of {name!r} does not name its missing-code: expected the sentence {sentence}",
                    )
                )
    return problems


def _with_missing_codes(doc: dict, op: dict, op_where: str) -> list[tuple[str, str, dict]]:
    """(where, name, the parameter or body property) for each one with an x-missing-code: the query, header and
    path parameters (their description on the parameter, their schema under it), and the JSON body's properties,
    nested ones by their dotted name (description and schema are the property's own)."""
    found = []
    for index, raw in enumerate(op.get("parameters") or []):
        param = resolve_refs(doc, raw)
        if isinstance(param, dict) and param.get("x-missing-code") is not None:
            found.append((f"{op_where}/parameters/{index}", str(param.get("name")), param))
    body = resolve_refs(doc, op.get("requestBody") or {})
    schema = ((body.get("content") or {}).get("application/json") or {}).get("schema") or {}

    def walk(node: dict, where: str, prefix: str) -> None:
        for name, prop in (node.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            place = f"{where}/properties/{pointer(name)[1:]}"
            if prop.get("x-missing-code") is not None:
                found.append((place, f"{prefix}{name}", {**prop, "schema": prop}))
            walk(prop, place, f"{prefix}{name}.")

    walk(schema, f"{op_where}/requestBody/content/application~1json/schema", "")
    return found


def _own(schema: dict) -> dict:
    """A property's schema without the suite's own keys (x-missing-code, x-role), to validate a value against."""
    return {key: value for key, value in schema.items() if not key.startswith("x-") and key != "schema"}


# Blank to the contract: empty, or ASCII whitespace only (contract_suite.schemathesis_layer.checks judges by the
# same set).
BLANK_SAMPLES = ("", *sorted(ASCII_WHITESPACE), "".join(sorted(ASCII_WHITESPACE)), "   ")


def blank_is_missing(doc: dict) -> list[Problem]:
    """A parameter with a missing-code has a schema that rejects blank values, which are missing too:
    so generated positive data never sends them and negative data does."""
    problems = []
    for op_where, op in _operations(doc):
        for place, name, param in _with_missing_codes(doc, op, op_where):
            schema = param.get("schema")
            if not isinstance(schema, dict) or schema.get("type", "string") != "string":
                continue  # an object's absence has a missing-code; blank is a string's
            accepted = [v for v in BLANK_SAMPLES if not validation_errors(_own(schema), v)]
            if accepted:
                problems.append(
                    Problem(
                        place if place.endswith("/schema") or "/requestBody/" in place else f"{place}/schema",
                        (
                            f"the schema of {name!r} accepts the blank value(s) "
                            f"{', '.join(map(repr, accepted))}, which get its missing-code: expected it to need a "
                            "character that is not ASCII whitespace (minLength: 1 and a pattern such as "
                            "'[^\\t\\n\\v\\f\\r ]')"
                        ),
                    )
                )
    return problems


def _enum_pointer(content: dict, base: str) -> str:
    schema = content.get("schema") or {}
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return (
        f"{ref[1:]}/properties/code/enum"
        if isinstance(ref, str) and ref.startswith("#/")
        else f"{base}/schema/properties/code/enum"
    )


def drift(doc: dict, page: knife4j.Page) -> list[Problem]:
    """Every difference between the spec and a knife4j page: address, method, parameters, codes, messages."""
    problems: list[Problem] = []
    ops = {op_where: op for op_where, op in _operations(doc)}
    address = page.fields.get("Interface Address", "")
    method = page.fields.get("Request Method", "").lower()
    op_where = pointer("paths", address, method)
    op = ops.get(op_where)
    if op is None:
        problems.append(
            Problem(op_where, f"{page.source} documents {method.upper()} {address}; the spec has no such operation")
        )
        return problems

    spec_params = {}
    for index, raw in enumerate(op.get("parameters") or []):
        param = resolve_refs(doc, raw)
        spec_params[param.get("name")] = (f"{op_where}/parameters/{index}", param)
    page_params = set()
    for row in page.table("Request Parameters"):
        name = row.cells.get("Parameter Name", "")
        page_params.add(name)
        if name not in spec_params:
            problems.append(
                Problem(
                    row.where(page.source),
                    f"parameter {name!r} is on the page but not in the spec ({op_where}/parameters)",
                )
            )
            continue
        where, param = spec_params[name]
        page_required = row.cells.get("Required", "").lower() == "true"
        if bool(param.get("required")) != page_required:
            problems.append(
                Problem(
                    f"{where}/required",
                    f"{row.where(page.source)} says required={str(page_required).lower()} for {name!r}; "
                    f"the spec says {str(bool(param.get('required'))).lower()}",
                )
            )
        page_in = row.cells.get("Request Type", "")
        if page_in and param.get("in") != page_in:
            problems.append(
                Problem(
                    f"{where}/in", f"{row.where(page.source)} puts {name!r} in {page_in}; the spec in {param.get('in')}"
                )
            )
        page_desc = row.cells.get("Parameter Description", "")
        spec_desc = _first_line(param.get("description"))  # the lines after it are the spec's own
        if page_desc and spec_desc != page_desc:
            problems.append(
                Problem(
                    f"{where}/description",
                    f"{row.where(page.source)} describes {name!r} as {page_desc!r}; "
                    f"the first line of the spec's description says {spec_desc!r}",
                )
            )
    for name, (where, _) in spec_params.items():
        if name not in page_params:
            problems.append(
                Problem(where, f"parameter {name!r} is in the spec but not in {page.source}'s Request Parameters table")
            )

    table = op.get("x-business-codes") or {}
    spec_codes = {}
    for key, entry in table.items():
        try:
            spec_codes[int(key)] = (
                f"{op_where}/x-business-codes{pointer(key)}",
                entry if isinstance(entry, dict) else {},
            )
        except (TypeError, ValueError):
            continue
    page_codes = set()
    for row in page.table("Response Status"):
        raw = row.cells.get("Status Code", "")
        try:
            code = int(raw)
        except ValueError:
            problems.append(Problem(row.where(page.source), f"status code {raw!r} is not a number"))
            continue
        page_codes.add(code)
        if code not in spec_codes:
            problems.append(
                Problem(
                    row.where(page.source),
                    f"code {code} is on the page but not in the spec's x-business-codes ({op_where}/x-business-codes)",
                )
            )
            continue
        where, entry = spec_codes[code]
        page_msg = row.cells.get("Description", "")
        if str(entry.get("message", "")).strip() != page_msg:
            problems.append(
                Problem(
                    f"{where}/message",
                    f"{row.where(page.source)} gives code {code} the message {page_msg!r}; "
                    f"the spec says {entry.get('message')!r}",
                )
            )
    for code, (where, _) in spec_codes.items():
        if code not in page_codes:
            problems.append(
                Problem(where, f"code {code} is in the spec but not in {page.source}'s Response Status table")
            )
    return problems


RULES = (openapi_validity, examples_match_schemas, business_codes, codes_shown_to_readers, blank_is_missing)
# Each rule's name, as the lint cases and the suite's input check say it.
RULE_NAMES = {
    openapi_validity: "openapi-valid",
    examples_match_schemas: "examples-fit-schemas",
    business_codes: "business-codes-consistent",
    codes_shown_to_readers: "codes-shown-to-readers",
    blank_is_missing: "blank-is-missing",
    drift: "no-drift-from-knife4j-page",
}


def lint(doc: dict, page: knife4j.Page | None = None) -> list[Problem]:
    problems = [p for rule in RULES for p in rule(doc)]
    if page is not None:
        problems += drift(doc, page)
    return problems


def named_problems(doc: dict, page: knife4j.Page | None = None) -> list[str]:
    """Every problem the lint finds, one line each: the rule's name, where, and what is wrong."""
    found = [(rule, problem) for rule in RULES for problem in rule(doc)]
    found += [(drift, problem) for problem in (drift(doc, page) if page is not None else [])]
    return [f"{RULE_NAMES[rule]}: {problem}" for rule, problem in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contract_suite.openapi.lint", description=__doc__.splitlines()[0])
    parser.add_argument(
        "spec", nargs="?", default="spec/openapi.yaml", help="OpenAPI document to lint (default: %(default)s)"
    )
    parser.add_argument("--knife4j", metavar="PAGE", help="a knife4j markdown page to check the spec against for drift")
    args = parser.parse_args(argv)
    try:
        doc = load_document(args.spec)
    except SpecError as exc:
        parser.error(str(exc))
    page = None
    if args.knife4j:
        try:
            page = knife4j.parse_file(args.knife4j)
        except OSError as exc:
            parser.error(f"cannot read knife4j page {args.knife4j}: {exc.strerror or exc}")
    problems = lint(doc, page)
    for problem in problems:
        print(problem)
    checked = "spec" + (f" and drift against {args.knife4j}" if page else "")
    print(f"{args.spec}: {len(problems)} problem(s) ({checked})", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
