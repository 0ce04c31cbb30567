"""The reference server in its own process, counting the requests it answers (for bench/bench.py).

python bench/counting_server.py DB   -> prints its URL; GET /__bench/count answers the count so far
"""

import sys
import threading

from werkzeug.serving import make_server

from reference_server import create_app
from reference_server.embedded import QuietRequestHandler

COUNT_PATH = "/__bench/count"


class Counting:
    def __init__(self, app):
        self.app = app
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == COUNT_PATH:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [str(self.count).encode()]
        with self.lock:
            self.count += 1
        return self.app(environ, start_response)


def main() -> None:
    app = Counting(create_app({"DATABASE": sys.argv[1]}))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    print(f"http://127.0.0.1:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
