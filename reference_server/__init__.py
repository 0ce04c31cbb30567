"""A small, faithful SQLite-backed implementation of PUT /v2/enduser/enduserapi/setPhone."""

from .app import SetPhoneService, create_app
from .codes import issue_code
from .embedded import EmbeddedServer, start_embedded

__all__ = ["EmbeddedServer", "SetPhoneService", "create_app", "issue_code", "start_embedded"]
