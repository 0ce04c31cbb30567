"""The suite's own inputs judged before any request: the spec (loaded and linted) and the knife4j page its drift
check reads. A problem here is the user's (exit 4), never the endpoint's: the run sends nothing and says, one line
each, which rule the input breaks and where."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from contract_suite.openapi import knife4j, lint, spec


def input_problems(spec_path: Path, page: Path | None, page_given: bool) -> list[str]:
    """One line per problem of the spec at spec_path and of the page (None: no page to check drift against;
    page_given: the user named it, so a missing page is a problem rather than a drift check left out)."""
    if page is not None and not page.is_file():
        if page_given:
            return [f"--knife4j-page {page}: no such file"]
        page = None
    return list(_problems(_stamp(spec_path), _stamp(page) if page is not None else None))


def _stamp(path: Path) -> tuple[str, int, int]:
    """A file as the memo knows it: its path, size and modification time (an edited file is judged again)."""
    found = os.stat(path)
    return str(path), found.st_size, found.st_mtime_ns


@lru_cache(maxsize=8)
def _problems(spec_file: tuple[str, int, int], page_file: tuple[str, int, int] | None) -> tuple[str, ...]:
    try:
        document = spec.load_document(spec_file[0])
    except spec.SpecError as exc:
        return (str(exc),)
    try:
        page = knife4j.parse_file(Path(page_file[0])) if page_file is not None else None
    except OSError as exc:
        return (f"cannot read the knife4j page {page_file[0]}: {exc.strerror or exc}",)
    return tuple(lint.named_problems(document, page))
