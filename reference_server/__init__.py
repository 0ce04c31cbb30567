"""A small, faithful SQLite-backed implementation of PUT /v2/enduser/enduserapi/setPhone."""

import importlib

# Loaded on first use, so `python -m reference_server issue-code` (run once per SMS code by the
# suite) does not import Werkzeug.
_EXPORTS = {
    "EmbeddedServer": "embedded",
    "SetPhoneService": "app",
    "create_app": "app",
    "issue_code": "codes",
    "start_embedded": "embedded",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
