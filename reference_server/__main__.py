"""Command line: serve the reference setPhone server, or issue an SMS code into its database.

python -m reference_server [--host 127.0.0.1] [--port 8080] [--db PATH]
python -m reference_server issue-code INTERNATIONAL_CODE PHONE [--db PATH]
"""

import argparse
import os
import signal
import sqlite3
import sys

from .codes import issue_code

PATH = "/v2/enduser/enduserapi/setPhone"  # for the help text; the app has its own

DB_ENV = "REFERENCE_SERVER_DB"
DEFAULT_DB = "./reference-server.sqlite3"
PROG = "python -m reference_server"


def default_db() -> str:
    return os.environ.get(DB_ENV) or DEFAULT_DB


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {port}")
    return port


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=default_db(),
        metavar="PATH",
        help=f"SQLite file, created and seeded if new (default: ${DB_ENV} or {DEFAULT_DB})",
    )


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=f"Serve PUT {PATH} (reference implementation).",
        epilog=(f"To issue an SMS verification code instead:\n  {PROG} issue-code IC PHONE [--db PATH]"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=port_number,
        default=8080,
        help="port to bind; 0 lets the system pick one (default: 8080)",
    )
    parser.add_argument(
        "--fail-storage",
        action="store_true",
        help="answer 5170 to every otherwise valid change, as if storage failed (to see that code)",
    )
    add_db_option(parser)
    return parser


def issue_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} issue-code",
        description="Issue a fresh SMS verification code for a number; print only the code.",
    )
    parser.add_argument("international_code", help="e.g. 86")
    parser.add_argument("phone", help="e.g. 13800000001")
    add_db_option(parser)
    return parser


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def serve(argv: list[str]) -> int:
    # Werkzeug only when serving: issue-code runs once per SMS code and should start fast.
    from werkzeug.serving import make_server

    from .app import SimulatedStorageFailure, create_app
    from .embedded import QuietRequestHandler

    parser = serve_parser()
    args = parser.parse_args(argv)
    try:
        defects = [SimulatedStorageFailure] if args.fail_storage else []
        app = create_app({"DATABASE": args.db, "DEFECTS": defects})
    except (sqlite3.Error, OSError) as error:
        parser.error(f"cannot use database {args.db}: {error}")
    try:
        # no access log: its lines would carry the SMS codes of the query string
        server = make_server(args.host, args.port, app, threaded=True, request_handler=QuietRequestHandler)
    except OSError as error:
        parser.error(f"cannot listen on {args.host}:{args.port}: {error}")
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"http://{host}:{server.port}", flush=True)
    print(f"database {args.db}; Ctrl-C stops", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # Also SIGINT: a shell that starts us in the background sets it to "ignore", and
    # Python then keeps it so; Ctrl-C and `kill -INT` must stop the server anyway.
    signal.signal(signal.SIGINT, _stop_on_sigterm)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def issue(argv: list[str]) -> int:
    parser = issue_parser()
    args = parser.parse_args(argv)
    try:
        code = issue_code(args.db, args.international_code, args.phone)
    except (sqlite3.Error, OSError) as error:
        parser.error(f"cannot use database {args.db}: {error}")
    print(code)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["issue-code"]:
        return issue(argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())
