"""Reads the tables of a knife4j markdown export (one API page) into rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One table row: its cells by header name, and where it stands in the page."""

    table: str
    line: int
    cells: dict[str, str]

    def where(self, source: str) -> str:
        first = next(iter(self.cells.values()), "")
        return f"{source}:{self.line} ({self.table} row {first!r})"


@dataclass(frozen=True)
class Page:
    source: str
    fields: dict[str, str]  # "Interface Address" -> "/v2/...", "Request Method" -> "PUT"
    tables: dict[str, list[Row]]  # "Request Parameters" -> rows

    def table(self, name: str) -> list[Row]:
        return self.tables.get(name, [])


_FIELD = re.compile(r"^\*\*(?P<name>[^*]+)\*\*:\s*`(?P<value>[^`]*)`\s*$")
_HEADING = re.compile(r"^\*\*(?P<name>[^*]+)\*\*:\s*$")
_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}")
_CELL_BORDER = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|"):
        inner = inner[:-1]
    # a pipe escaped as \| belongs to the cell
    return [c.strip().replace("\\|", "|") for c in _CELL_BORDER.split(inner)]


def parse(text: str, source: str = "page") -> Page:
    fields: dict[str, str] = {}
    tables: dict[str, list[Row]] = {}
    heading = None
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if m := _FIELD.match(stripped):
            fields[m["name"].strip()] = m["value"].strip()
            heading, header = None, None
            continue
        if m := _HEADING.match(stripped):
            heading, header = m["name"].strip(), None
            continue
        if heading is None or not stripped.startswith("|"):
            if stripped and header is not None:
                heading, header = None, None
            continue
        if header is None:
            header = _cells(stripped)
            tables.setdefault(heading, [])
            continue
        if _SEPARATOR.match(stripped):
            continue
        values = _cells(stripped)
        values += [""] * (len(header) - len(values))
        tables[heading].append(Row(heading, number, dict(zip(header, values, strict=False))))
    return Page(source, fields, tables)


def parse_file(path: str | Path) -> Page:
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), source=str(path))
