"""Command line: serve the reference setPhone server, or issue an SMS code into its database.

python -m reference_server [--host 127.0.0.1] [--port 8080] [--db PATH]
python -m reference_server issue-code INTERNATIONAL_CODE PHONE [--db PATH]
python -m reference_server stand-in [--port 8080] [--dir staging-stand-in]   (a staging stand-in and its profile)
"""

from __future__ import annotations

import os
import sqlite3
import sys

from .codes import DB_ENV, DEFAULT_DB, SendRules, TooSoon, issue_code

PATH = "/v2/enduser/enduserapi/setPhone"  # for the help text; the app has its own

PROG = "python -m reference_server"
THROTTLED_EXIT = 75  # EX_TEMPFAIL: what the suite's [codes] command reads as "throttled, nothing sent"


def default_db() -> str:
    return os.environ.get(DB_ENV) or DEFAULT_DB


def port_number(text: str) -> int:
    import argparse

    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {port}")
    return port


# argparse is imported inside the functions that build a parser (see plain_issue_args); the annotations that name
# it are never evaluated (from __future__ import annotations), hence the noqa.
def add_db_option(parser: argparse.ArgumentParser) -> None:  # noqa: F821
    parser.add_argument(
        "--db",
        default=default_db(),
        metavar="PATH",
        help=f"SQLite file, created and seeded if new (default: ${DB_ENV} or {DEFAULT_DB})",
    )


def serve_parser() -> argparse.ArgumentParser:  # noqa: F821
    import argparse

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=f"Serve PUT {PATH} (reference implementation).",
        epilog=(
            "Two more commands:\n"
            f"  {PROG} stand-in [--port PORT] [--dir DIR]   serve as a staging stand-in and write the suite's\n"
            '      profile for it (see README, "Try it against a deployment"; --help for its options)\n'
            f"  {PROG} issue-code IC PHONE [--db PATH]       issue an SMS verification code"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=port_number,
        default=8080,
        help="port to bind; 0 lets the system pick one (default: 8080)",
    )
    from .defects import BY_NAME

    parser.add_argument(
        "--defect",
        action="append",
        choices=sorted(BY_NAME),
        metavar="NAME",
        default=[],
        help="break the contract on purpose, to see a BROKEN run (repeatable): "
        + "; ".join(f"{name}: {_first_lower(BY_NAME[name].__doc__.rstrip('.'))}" for name in sorted(BY_NAME)),
    )
    parser.add_argument(
        "--fail-storage",
        action="store_true",
        help="answer 5170 to every otherwise valid change, as if storage failed (to see that code)",
    )
    rules = parser.add_argument_group(
        "SMS-code rules of real platforms", "to rehearse a run against them (default: valid 5 minutes, used once)"
    )
    rules.add_argument(
        "--code-lifetime", type=positive_seconds, metavar="SECONDS", help="a code expires this long after it is sent"
    )
    rules.add_argument(
        "--codes-spent-by-check",
        action="store_true",
        help="any check of a code, right or wrong, spends it (an anti-guessing rule)",
    )
    rules.add_argument(
        "--wrong-tries", type=positive_count, metavar="N", help="N wrong codes for a number void its valid code"
    )
    add_db_option(parser)
    return parser


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def positive_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def issue_parser() -> argparse.ArgumentParser:  # noqa: F821
    import argparse

    parser = argparse.ArgumentParser(
        prog=f"{PROG} issue-code",
        description="Issue a fresh SMS verification code for a number; print only the code.",
    )
    parser.add_argument("international_code", help="e.g. 86")
    parser.add_argument("phone", help="e.g. 13800000001")
    add_db_option(parser)
    sender = parser.add_argument_group(
        "SMS sender rules of real platforms", "to rehearse a run against them (default: none, at once)"
    )
    sender.add_argument(
        "--min-interval",
        type=positive_seconds,
        metavar="SECONDS",
        help=f"refuse a code asked for within SECONDS of the number's last one: exit {THROTTLED_EXIT}, "
        "'retry-after: N' on stderr, nothing sent (the suite waits it out)",
    )
    sender.add_argument(
        "--delivery-seconds", type=positive_seconds, metavar="SECONDS", help="take SECONDS to deliver each code"
    )
    return parser


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def serve(argv: list[str], announce=None) -> int:
    # Werkzeug (and signal, argparse) only when serving: issue-code runs once per SMS code and should start fast.
    import signal

    from werkzeug.serving import make_server

    from .app import SimulatedStorageFailure, create_app
    from .embedded import QuietRequestHandler

    parser = serve_parser()
    args = parser.parse_args(argv)
    try:
        from .defects import BY_NAME

        defects = [BY_NAME[name] for name in args.defect] + ([SimulatedStorageFailure] if args.fail_storage else [])
        if defects:
            broken = ", ".join(args.defect + ["fail-storage"] * args.fail_storage)
            print(f"deliberately broken: {broken}", file=sys.stderr)
        rules = None
        if args.code_lifetime or args.codes_spent_by_check or args.wrong_tries:
            from .codes import LIFETIME_SECONDS, CodeRules

            rules = CodeRules(args.code_lifetime or LIFETIME_SECONDS, args.codes_spent_by_check, args.wrong_tries or 0)
        app = create_app({"DATABASE": args.db, "DEFECTS": defects, "CODE_RULES": rules})
    except (sqlite3.Error, OSError) as error:
        parser.error(f"cannot use database {args.db}: {error}")
    try:
        # no access log: its lines would carry the SMS codes of the query string
        server = make_server(args.host, args.port, app, threaded=True, request_handler=QuietRequestHandler)
    except OSError as error:
        parser.error(f"cannot listen on {args.host}:{args.port}: {error}")
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"http://{host}:{server.port}", flush=True)
    if announce is not None:  # the stand-in: the profile that matches this server, and how to run the suite
        announce(f"http://{host}:{server.port}", args.db)
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
        app.close()  # its kept database connections (the last one closed checkpoints the WAL into the file)
    return 0


def plain_issue_args(argv: list[str]) -> tuple[str, str, str] | None:
    """(international code, phone, database) from `IC PHONE [--db PATH]` as the profiles write it; None for any
    other form (help, an error, `--db=PATH`), which argparse then reads. The plain form skips importing argparse:
    the suite runs issue-code once per SMS code, over a thousand times in the self-tests."""
    db = default_db()
    if len(argv) == 4 and argv[2] == "--db":
        argv, db = argv[:2], argv[3]
    if len(argv) != 2 or any(arg.startswith("-") for arg in (*argv, db)):
        return None
    return argv[0], argv[1], db


def issue(argv: list[str]) -> int:
    plain = plain_issue_args(argv)
    rules = SendRules()
    if plain is None:
        args = issue_parser().parse_args(argv)
        plain = args.international_code, args.phone, args.db
        rules = SendRules(args.min_interval or 0.0, args.delivery_seconds or 0.0)
    international_code, phone, db = plain
    new = not os.path.exists(db)
    try:
        code = issue_code(db, international_code, phone, rules=rules)
    except TooSoon as too_soon:
        print(f"issue-code: {too_soon}\nretry-after: {too_soon.retry_after:.3f}", file=sys.stderr)
        return THROTTLED_EXIT
    except (sqlite3.Error, OSError) as error:
        issue_parser().error(f"cannot use database {db}: {error}")
    if new:  # a code issued into a database no server reads would never verify: say where it went
        print(
            f"issue-code: made a new database {os.path.abspath(db)} (no server used it before); a server must use "
            "the same --db (or REFERENCE_SERVER_DB) for this code to verify",
            file=sys.stderr,
        )
    print(code)
    return 0


STAND_IN_DIR = "staging-stand-in"
CODE_COMMAND = 'command = "python -m reference_server issue-code {international_code} {phone}"'


def stand_in(argv: list[str]) -> int:
    """A staging stand-in: the reference server on a port with a database of its own, and the profile that matches
    it (its URL, and a code command that issues codes into that same database) written beside the database."""
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog=f"{PROG} stand-in",
        description="Serve the reference server as a staging stand-in and write the suite's profile for it.",
        epilog=f"The server's own options work here too ({PROG} --help): --defect NAME to see a BROKEN run, the "
        "SMS-code rules of real platforms (--code-lifetime, --codes-spent-by-check, --wrong-tries).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=8080, help="port to bind (default: 8080; 0: any)")
    parser.add_argument(
        "--dir", default=STAND_IN_DIR, help=f"folder for its database and profile (default: ./{STAND_IN_DIR})"
    )
    args, rest = parser.parse_known_args(argv)
    folder = Path(args.dir).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"cannot make {folder}: {error.strerror or error}")
    database = folder / "reference.sqlite3"

    def announce(url: str, db: str) -> None:
        profile = folder / "profile.toml"
        text = (Path(__file__).resolve().parent.parent / "profiles" / "reference.toml").read_text(encoding="utf-8")
        command = f"python -m reference_server issue-code {{international_code}} {{phone}} --db {database}"
        text = text.replace(CODE_COMMAND, f"command = {json.dumps(command)}")
        text = text.replace("[target]\n", f"[target]\nbase_url = {json.dumps(url)}\n", 1)
        profile.write_text(f"# The staging stand-in at {url} (python -m reference_server stand-in).\n{text}", "utf-8")
        print(f"profile for it: {profile} (its code command issues codes into {database})", flush=True)
        print(
            f"in another terminal, run the suite against it:\n  pytest contract_tests --profile {profile} "
            "--allow-destructive",
            flush=True,
        )

    return serve(["--host", args.host, "--port", str(args.port), "--db", str(database), *rest], announce)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["issue-code"]:
        return issue(argv[1:])
    if argv[:1] == ["stand-in"]:
        return stand_in(argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())
