"""Broken servers: defects of the methods the path serves.

No catalogue entry (BROKEN) names them: the hand-written cases send the declared method only, and a broken
variant's catalogue run leaves the generated layer out. The generated layer's coverage phase sends the other
methods; tests/test_generated_layer.py and tests/test_nginx.py run it against these.
"""

from __future__ import annotations

from reference_server import app as ref
from reference_server.app import SetPhoneService


class OtherMethodsActLikePut(SetPhoneService):
    """Serve every method on the path as PUT (a GET changes the phone)."""

    def dispatch(self, request):
        if request.path == ref.PATH:
            return self.respond(self.envelope(self.handle(request)))
        return super().dispatch(request)
