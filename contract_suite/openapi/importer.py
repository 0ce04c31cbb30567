"""A knife4j markdown page (one API, as knife4j exports it) turned into the OpenAPI operation it describes: path,
method, summary, its parameters with their location, type and required flag, a JSON body schema from the page's
nested rows (knife4j indents a DTO's properties under it with `&emsp;&emsp;`), the response envelope from its
response parameters, and its status table as `x-business-codes`. What a page cannot say it proposes where the
page's wording makes it clear (a code whose message is "Please enter <a parameter's description>" is that
parameter's `x-missing-code`), and otherwise lists for the author (`Imported.still_to_add`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from contract_suite.openapi.knife4j import Page, Row

INDENT = "&emsp;&emsp;"  # knife4j's mark of a property one level under the row before it
_TITLE = re.compile(r"^#\s+(?P<title>.+?)\s*$", re.M)
_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "integer(int32)": {"type": "integer", "format": "int32"},
    "integer(int64)": {"type": "integer", "format": "int64"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "array": {"type": "array", "items": {}},
    "object": {"type": "object"},
}
PLEASE_ENTER = "please enter "
SUCCESS_STATUS = 200


class PageNotImportable(Exception):
    """The page lacks what an operation needs (its address or method); the message names it."""


@dataclass
class Imported:
    path: str
    method: str  # lower case, as OpenAPI keys it
    operation: dict[str, Any]
    still_to_add: list[str] = field(default_factory=list)  # what the page does not say, in words


def import_page(page: Page, text: str = "") -> Imported:
    """The operation the page describes; `text` is the page's markdown (its title heading is the summary)."""
    path = page.fields.get("Interface Address", "")
    method = page.fields.get("Request Method", "").lower()
    if not path.startswith("/") or not method:
        raise PageNotImportable(f"{page.source}: no **Interface Address** or **Request Method** (not a knife4j page?)")
    title = _TITLE.search(text)
    summary = title["title"] if title else page.fields.get("Interface Description", "")
    operation: dict[str, Any] = {"operationId": _operation_id(path), "summary": summary}
    description = page.fields.get("Interface Description", "")
    if description and description != summary:
        operation["description"] = description
    parameters, body = _parameters(page.table("Request Parameters"))
    codes = _codes(page.table("Response Status"))
    still: list[str] = []
    missing = _missing_codes(codes, [*parameters, *_body_properties(body)])
    for target, code in missing:
        target["x-missing-code"] = code
    lacking = [p["name"] for p in parameters if p.get("required") and "x-missing-code" not in p]
    lacking += [name for name, node in _body_required(body) if "x-missing-code" not in node]
    if lacking:
        still.append(f'the x-missing-code of {", ".join(lacking)} (no code\'s message says "Please enter" it)')
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {page.fields.get("Request Data Type", "application/json"): {"schema": body}},
        }
    envelope = _envelope(page.table("Response Parameters"))
    media = "application/json"
    operation["responses"] = {
        str(SUCCESS_STATUS): {
            "description": "Every outcome: the envelope carries its code (x-business-codes)",
            "content": {media: {"schema": envelope}},
        }
    }
    if codes:
        operation["x-business-codes"] = codes
        still.append("each code's provoked-by (what request provokes it), and `exercisable: false` where none can")
    else:
        still.append("x-business-codes: the page has no Response Status table")
    still.append("security: the token header (an apiKey scheme in components, named in `security`)")
    still.append("examples: each parameter's example value and each code's example envelope")
    still.append("the code table in the description, for readers (the lint's codes-shown-to-readers names it)")
    return Imported(path, method, operation, still)


def _operation_id(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] or "operation"


def _schema_of(data_type: str) -> dict[str, Any]:
    kind = data_type.strip()
    return dict(_TYPES.get(kind.lower(), {"type": "object"}))  # a DTO's name: an object


def _depth(name: str) -> tuple[int, str]:
    depth = 0
    while name.startswith(INDENT):
        depth, name = depth + 1, name[len(INDENT) :]
    return depth, name.strip()


def _parameters(rows: list[Row]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The query, header and path parameters; the JSON body's schema (None: no body row)."""
    parameters: list[dict[str, Any]] = []
    body: dict[str, Any] | None = None
    stack: list[dict[str, Any]] = []  # the objects the next indented row may belong to, by depth
    for row in rows:
        cells = row.cells
        depth, name = _depth(cells.get("Parameter Name", ""))
        where = cells.get("Request Type", "").strip().lower()
        required = cells.get("Required", "").strip().lower() == "true"
        description = cells.get("Parameter Description", "").strip()
        schema = _schema_of(cells.get("Data Type", "string"))
        if depth == 0 and where in ("query", "header", "path"):
            parameters.append(
                {"name": name, "in": where, "required": required, "description": description, "schema": schema}
            )
            stack = []
            continue
        if depth == 0 and where == "body":
            body = {"type": "object", "description": description} if description else {"type": "object"}
            stack = [body]
            continue
        if not stack or depth > len(stack):
            continue  # an indented row with nothing above it: the page is not as knife4j writes it
        parent = stack[depth - 1]
        if description:
            schema["description"] = description
        parent.setdefault("properties", {})[name] = schema
        if required:
            parent.setdefault("required", []).append(name)
        del stack[depth:]
        if schema.get("type") == "object":
            stack.append(schema)
    return parameters, body


def _body_properties(body: dict[str, Any] | None, prefix: str = "") -> list[dict[str, Any]]:
    """Each property of the body (nested ones too) as a node carrying its dotted name and description."""
    found = []
    for name, node in ((body or {}).get("properties") or {}).items():
        dotted = f"{prefix}{name}"
        found.append({"name": dotted, "description": node.get("description", ""), "node": node})
        found += _body_properties(node, dotted + ".")
    return found


def _body_required(body: dict[str, Any] | None, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """The body's required properties, nested ones under a required parent, by dotted name."""
    found = []
    properties = (body or {}).get("properties") or {}
    for name in (body or {}).get("required") or []:
        node = properties.get(name, {})
        found.append((f"{prefix}{name}", node))
        found += _body_required(node, f"{prefix}{name}.")
    return found


def _codes(rows: list[Row]) -> dict[str, dict[str, Any]]:
    codes: dict[str, dict[str, Any]] = {}
    for row in rows:
        status = row.cells.get("Status Code", "").strip()
        if not status.isdigit():
            continue
        message = row.cells.get("Description", "").strip()
        entry: dict[str, Any] = {"name": _slug(message) or f"code-{status}", "message": message, "provoked-by": ""}
        if int(status) == SUCCESS_STATUS:
            entry = {"name": "success", "message": message, "provoked-by": "", "success": True}
        codes[status] = entry
    return codes


def _slug(message: str) -> str:
    words = re.findall(r"[a-z0-9]+", message.lower().replace("please enter", "missing"))
    return "-".join(words[:6])


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _missing_codes(codes: dict[str, dict[str, Any]], targets: list[dict[str, Any]]) -> list[tuple[dict, int]]:
    """(the parameter's or body property's node, its code) where a code's message is "Please enter <its
    description>" and exactly one parameter has that description."""
    found = []
    for status, entry in codes.items():
        message = entry["message"]
        if not message.lower().startswith(PLEASE_ENTER):
            continue
        wanted = _normal(message[len(PLEASE_ENTER) :])
        matching = [t for t in targets if t.get("description") and _normal(t["description"]) == wanted]
        if len(matching) == 1:
            target = matching[0]
            found.append((target.get("node", target), int(status)))
    return found


def _envelope(rows: list[Row]) -> dict[str, Any]:
    properties = {}
    for row in rows:
        depth, name = _depth(row.cells.get("Parameter Name", ""))
        if depth or not name:
            continue
        schema = _schema_of(row.cells.get("Type", "object"))
        described = row.cells.get("Parameter Description", "").strip()
        if described:
            schema["description"] = described
        properties[name] = schema
    envelope: dict[str, Any] = {"type": "object", "properties": properties}
    if "code" in properties:
        envelope["required"] = ["code"]
    return envelope
