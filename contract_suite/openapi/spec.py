"""The one loader of spec/openapi.yaml: every expectation the suite checks comes from here."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = PROJECT_ROOT / "spec" / "openapi.yaml"
# libyaml's safe loader where PyYAML was built with it: the same document, about ten times faster to read
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Blank beyond doubt: empty, or nothing but ASCII whitespace. A value made only of other characters
# Python calls whitespace (U+00A0, U+3000, U+001C...) is blank to some servers and not to others.
# The lint holds the spec's parameter schemas to it; contract_suite.schemathesis_layer.checks judges answers by it.
ASCII_WHITESPACE = frozenset(" \t\n\r\f\v")


class SpecError(Exception):
    """The spec cannot be loaded, or lacks a place the suite reads."""


def is_integer(value: Any) -> bool:
    """An integer as JSON means one: not a bool (Python's bool is an int), not 200.0."""
    return isinstance(value, int) and not isinstance(value, bool)


def _strict_integer(checker, instance) -> bool:
    # JSON Schema counts 200.0 as an integer; a JSON body that says 200.0 is not an int32.
    return is_integer(instance)


def _int32(instance) -> bool:
    if not is_integer(instance):
        return True  # the type keyword judges non-integers
    return -(2**31) <= instance < 2**31


_FORMATS = jsonschema.FormatChecker()
_FORMATS.checks("int32")(_int32)
StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
)


def resolve_refs(root: dict, node: Any, _depth: int = 0) -> Any:
    """Return node with every local `$ref` replaced by what it points at."""
    if _depth > 50:
        raise SpecError("$ref nesting deeper than 50: a reference cycle?")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return resolve_refs(root, pointer_get(root, ref), _depth + 1)
        return {k: resolve_refs(root, v, _depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_refs(root, v, _depth + 1) for v in node]
    return node


def pointer_get(root: dict, ref: str) -> Any:
    if not ref.startswith("#"):
        raise SpecError(f"only local references are supported, got {ref!r}")
    node: Any = root
    for raw in ref[1:].split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise SpecError(f"{ref} points at nothing") from None
    return node


def pointer(*parts: Any) -> str:
    """JSON pointer from path parts, escaped as RFC 6901 says."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validation_errors(schema: dict, instance: Any) -> list[str]:
    """Messages of every way instance breaks schema (strict integers, int32 checked)."""
    validator = StrictValidator(schema, format_checker=_FORMATS)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    ]


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    missing_code: int | None
    example: Any
    description: str
    role: str | None = None  # x-role: "old.phone", "new.code", ...
    schema: dict = field(default_factory=dict, compare=False, repr=False)  # its JSON schema, as the spec gives it

    def __repr__(self) -> str:  # short: reports (Allure's parameters) and tracebacks show it
        return f"Parameter({self.name})"


@dataclass(frozen=True)
class BusinessCode:
    code: int
    name: str
    message: str
    provoked_by: str
    success: bool = False
    exercisable: bool = True


@dataclass(frozen=True)
class Operation:
    """What the spec says about one operation (the primary one, unless `primary` is False)."""

    path: str
    method: str
    operation_id: str
    version: str
    title: str
    spec_path: Path
    parameters: tuple[Parameter, ...]
    codes: dict[int, BusinessCode]
    token_header: str
    statuses: frozenset[int]  # the HTTP statuses the operation may answer
    media_types: tuple[str, ...]  # the response media types it may answer with
    envelope_schema: dict = field(repr=False)
    primary: bool = True  # the operation the business cases, the success case and the account's probes use

    def __repr__(self) -> str:  # short: reports (Allure's parameters) and tracebacks show it
        return f"Operation({self.label}: {self.method} {self.path})"

    @property
    def label(self) -> str:
        """How test ids and reports name the operation: its operationId, else `METHOD path`."""
        return self.operation_id or f"{self.method} {self.path}"

    @property
    def documents_codes(self) -> bool:
        """Whether the suite judges this operation: it documents its codes (x-business-codes)."""
        return bool(self.codes)

    def names_codes(self, *names: str) -> bool:
        """Whether x-business-codes names every one of these codes."""
        named = {entry.name for entry in self.codes.values()}
        return all(name in named for name in names)

    @property
    def success_code(self) -> int:
        (code,) = [c.code for c in self.codes.values() if c.success]
        return code

    @property
    def has_body(self) -> bool:
        """The operation takes a JSON request body (its properties are parameters in location "body")."""
        return any(p.location == BODY for p in self.parameters)

    @property
    def required_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.required)

    @property
    def missing_codes(self) -> dict[str, int]:
        """Parameter name to its "please enter" code."""
        return {p.name: p.missing_code for p in self.parameters if p.missing_code is not None}

    def parameter_with_role(self, role: str) -> Parameter:
        for p in self.parameters:
            if p.role == role:
                return p
        raise SpecError(f"no parameter has x-role {role!r}")

    def code_named(self, name: str) -> int:
        """The documented code whose x-business-codes entry has this name."""
        for entry in self.codes.values():
            if entry.name == name:
                return entry.code
        raise SpecError(f"x-business-codes has no code named {name!r}")

    def message(self, code: int) -> str:
        return self.codes[code].message

    def envelope_errors(self, body: Any) -> list[str]:
        return validation_errors(self.envelope_schema, body)

    def describe(self, code: Any) -> str:
        """`5176 "New phone number already registered"`, or a note that code is undocumented."""
        if is_integer(code) and code in self.codes:
            return f'{code} "{self.codes[code].message}"'
        return f"{json.dumps(code)} (not a documented code)"


def load_document(path: str | os.PathLike) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror or exc}") from None
    try:
        doc = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise SpecError(f"spec {path} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise SpecError(f"spec {path} is not an OpenAPI document (top level is not a mapping)")
    return doc


HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def operations_in(doc: dict) -> list[tuple[str, str, dict]]:
    """(path, method, operation) for every operation of the document, in document order."""
    return [
        (path, method, op)
        for path, item in (doc.get("paths") or {}).items()
        for method, op in (item or {}).items()
        if method in HTTP_METHODS
    ]


def _primary_index(found: list[tuple[str, str, dict]], doc: dict) -> int:
    """The primary operation: the one whose parameters (or JSON body properties) carry x-role (or the only
    operation)."""
    if not found:
        raise SpecError("the spec describes no operation")
    with_roles = [
        i
        for i, (_, _, op) in enumerate(found)
        if any(isinstance(p, dict) and "x-role" in p for p in resolve_refs(doc, (op or {}).get("parameters") or []))
        or any(p.role for p in body_parameters(resolve_refs(doc, (op or {}).get("requestBody") or {})))
    ]
    if len(with_roles) == 1:
        return with_roles[0]
    if not with_roles and len(found) == 1:
        return 0
    named = ", ".join(f"{m.upper()} {p}" for i, (p, m, _) in enumerate(found) if i in with_roles) or "none"
    raise SpecError(
        f"the spec describes {len(found)} operations: exactly one, the primary operation, must carry "
        f"x-role on its parameters (found on: {named})"
    )


def _token_header(doc: dict, op: dict) -> str | None:
    requirements = op.get("security", doc.get("security")) or []
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    for requirement in requirements:
        for name in requirement:
            scheme = schemes.get(name) or {}
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                return scheme["name"]
    return None


def _contract(doc: dict, path: Path, api_path: str, method: str, op: dict, primary: bool) -> Operation:
    where = f"spec {path}" if primary else f"spec {path}, operation {method.upper()} {api_path}"
    try:
        params = tuple(
            Parameter(
                name=p["name"],
                location=p["in"],
                required=bool(p.get("required", False)),
                missing_code=p.get("x-missing-code"),
                example=p.get("example"),
                description=p.get("description", ""),
                role=p.get("x-role"),
                schema=p.get("schema") or {},
            )
            for p in resolve_refs(doc, op.get("parameters") or [])
        ) + body_parameters(resolve_refs(doc, op.get("requestBody") or {}))
        codes = {}
        for key, entry in (op.get("x-business-codes") or {}).items():
            code = int(key)
            codes[code] = BusinessCode(
                code=code,
                name=str(entry.get("name", "")),
                message=str(entry.get("message", "")),
                provoked_by=str(entry.get("provoked-by", "")),
                success=bool(entry.get("success", False)),
                exercisable=bool(entry.get("exercisable", True)),
            )
        responses = resolve_refs(doc, op["responses"])
        statuses = frozenset(int(k) for k in responses if str(k).isdigit())
        media_types = tuple(dict.fromkeys(m for r in responses.values() for m in (r.get("content") or {})))
        if primary or codes:
            envelope = resolve_refs(doc, op["responses"]["200"]["content"]["application/json"]["schema"])
        else:  # an operation the suite does not judge: no envelope to read
            envelope = {}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecError(f"{where} lacks a place the suite reads: {exc!r}") from None
    token_header = _token_header(doc, op)
    if token_header is None and primary:
        raise SpecError("the spec declares no apiKey security scheme in a header (the token header)")
    operation = Operation(
        path=api_path,
        method=method.upper(),
        operation_id=op.get("operationId", ""),
        version=str((doc.get("info") or {}).get("version", "?")),
        title=str((doc.get("info") or {}).get("title", "")),
        spec_path=path,
        parameters=params,
        codes=codes,
        token_header=token_header or "",
        statuses=statuses,
        media_types=media_types,
        envelope_schema=envelope,
        primary=primary,
    )
    if (primary or codes) and sum(c.success for c in codes.values()) != 1:
        raise SpecError(f"{where}: x-business-codes must mark exactly one code `success: true`")
    return operation


BODY = "body"  # the location of a parameter that is a property of the JSON request body
JSON = "application/json"


def body_parameters(request_body: dict, schema: dict | None = None, prefix: str = "", required=True) -> tuple:
    """The properties of an operation's JSON request body, nested ones too, each as a Parameter in location "body"
    named by its dotted path ("device.deviceId"); required when its object lists it and that object is itself
    required (a property of an optional object is sent only with it). Its x-missing-code, x-role and example are
    read from the property's schema, as a query parameter's from the parameter."""
    if schema is None:
        schema = ((request_body.get("content") or {}).get(JSON) or {}).get("schema") or {}
        required = bool(request_body.get("required", False)) or bool(schema.get("required"))
    found: list[Parameter] = []
    listed = set(schema.get("required") or [])
    for name, node in (schema.get("properties") or {}).items():
        if not isinstance(node, dict):
            continue
        dotted = f"{prefix}{name}"
        needed = required and name in listed
        found.append(
            Parameter(
                name=dotted,
                location=BODY,
                required=needed,
                missing_code=node.get("x-missing-code"),
                example=node.get("example"),
                description=node.get("description", ""),
                role=node.get("x-role"),
                schema=node,
            )
        )
        if node.get("type") == "object" or "properties" in node:
            found += body_parameters(request_body, node, dotted + ".", needed)
    return tuple(found)


@dataclass(frozen=True)
class Spec:
    """Every operation of one spec, each as its Operation; `primary` is the one whose parameters carry x-role."""

    path: Path
    operations: tuple[Operation, ...]  # in document order

    @property
    def primary(self) -> Operation:
        (found,) = [c for c in self.operations if c.primary]
        return found

    @property
    def with_codes(self) -> tuple[Operation, ...]:
        """The operations the suite judges (they carry x-business-codes), the primary first."""
        return (self.primary,) + tuple(c for c in self.operations if c.documents_codes and not c.primary)

    def operation(self, method: str, api_path: str) -> Operation | None:
        """The contract of the operation with this method and path, if the spec has it."""
        for operation in self.operations:
            if operation.method == method.upper() and operation.path == api_path:
                return operation
        return None


@lru_cache(maxsize=8)
def _load_all(path: Path) -> Spec:
    doc = load_document(path)
    found = operations_in(doc)
    primary = _primary_index(found, doc)
    operations = tuple(
        _contract(doc, path, api_path, method, op if isinstance(op, dict) else {}, primary=(i == primary))
        for i, (api_path, method, op) in enumerate(found)
    )
    return Spec(path, operations)


def load_all(path: str | os.PathLike | None = None) -> Spec:
    """Every operation's contract in path, else in the project's spec/openapi.yaml."""
    return _load_all(Path(path or DEFAULT_SPEC).resolve())


def load(path: str | os.PathLike | None = None) -> Operation:
    """The primary operation's contract in path, else in the project's spec/openapi.yaml."""
    return load_all(path).primary
