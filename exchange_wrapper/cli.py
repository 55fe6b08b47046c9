"""The ``xwrap`` command: serve, check the ledger, show the settings."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .config import Settings, load_settings, to_json
from .core.errors import ConfigError, Rejected, XWrapError
from .core.exchanges import EXCHANGE_NAMES


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names; its exit status. A mistake in what was asked (a setting, an
    option, a file given: a :class:`Rejected` error) is one line on stderr and status 2; another
    failure (the database unavailable) one line and status 1."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except Rejected as error:
        print(f"xwrap: {error}", file=sys.stderr)
        return 2
    except XWrapError as error:
        print(f"xwrap: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xwrap", description="xWrap exchange-wrapper service.")
    parser.add_argument("--version", action="version", version=f"xwrap {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the service", description="Run the service: every door on one port.")
    _settings_options(serve)
    serve.add_argument("--host", help="address to listen on (server.host)")
    serve.add_argument("--port", type=int, help="port to listen on (server.port)")
    serve.add_argument(
        "--replay",
        nargs="+",
        metavar="FILE",
        default=[],
        help="run on recorded traffic (capture files) instead of live exchange connections",
    )
    serve.add_argument(
        "--speed",
        type=float,
        metavar="FACTOR",
        help="replay pace (with --replay): 1 is the recorded speed (the default), 10 ten times faster",
    )
    serve.set_defaults(run=_serve)

    ledger = commands.add_parser("ledger", help="ledger tools", description="Ledger tools.")
    ledger_commands = ledger.add_subparsers(title="commands", metavar="COMMAND", required=True)
    verify = ledger_commands.add_parser(
        "verify",
        help="rebuild every balance from the ledger entries and compare",
        description="Rebuild every balance from the ledger entries, check every entry balances and every "
        "order's hold and fills, print the result as JSON (the first 50 differences); exit 1 on any "
        "difference. A limit buy may hold its fee up to the highest fees.taker configured (1 % at "
        "least).",
    )
    _settings_options(verify)
    verify.set_defaults(run=_ledger_verify)

    replay = commands.add_parser(
        "replay",
        help="feed recorded traffic through an adapter and check the books",
        description="Feed capture files (tests/captures format) through the exchange's adapter and books as "
        "fast as possible; print one JSON object; exit 1 if any book ended corrupt.",
    )
    replay.add_argument(
        "--exchange",
        required=True,
        choices=EXCHANGE_NAMES,
        metavar="NAME",
        help="the exchange recorded: " + ", ".join(EXCHANGE_NAMES),
    )
    replay.add_argument("files", nargs="+", metavar="FILE", help="capture files: REST metadata, then streams")
    replay.set_defaults(run=_replay)

    config = commands.add_parser("config", help="settings tools", description="Settings tools.")
    config_commands = config.add_subparsers(title="commands", metavar="COMMAND", required=True)
    show = config_commands.add_parser(
        "show",
        help="validate and print the effective settings (secrets hidden)",
        description="Validate the settings file and environment, print the effective settings "
        "as JSON with secrets hidden.",
    )
    _settings_options(show)
    show.set_defaults(run=_config_show)
    return parser


def _settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="settings file (JSON); defaults apply without one")
    parser.add_argument("--database-url", help="database URL (database_url)")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"database_url": args.database_url}
    if hasattr(args, "host"):
        overrides.update({"server.host": args.host, "server.port": args.port})
    return load_settings(args.config, overrides=overrides)


def _serve(args: argparse.Namespace) -> int:
    from .service.server import serve

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.speed is not None and not args.replay:
        raise ConfigError("--speed", "--replay FILE... with it (it sets the pace of a replay)", args.speed)
    speed = 1.0 if args.speed is None else args.speed
    if not (speed > 0 and math.isfinite(speed)):
        raise ConfigError("--speed", "a factor above 0", args.speed)
    asyncio.run(serve(settings, replay=args.replay, speed=speed))
    return 0


def _ledger_verify(args: argparse.Namespace) -> int:
    from .core.exchanges import EXCHANGE_NAMES
    from .storage.database import close_database, open_database
    from .storage.verify import DEFAULT_MAX_FEE, SHOWN_DIFFERENCES, verify_ledger

    settings = _settings(args)
    database = open_database(settings.database_url, create=False)
    try:
        # a buy's hold includes the taker fee: the highest configured one bounds it
        takers = [settings.exchange(name).fees.taker for name in EXCHANGE_NAMES]
        report = verify_ledger(database, max_fee=max([DEFAULT_MAX_FEE, *filter(None, takers)]))
    finally:
        close_database(database)
    print(json.dumps(report.as_json(limit=SHOWN_DIFFERENCES), indent=2))
    if not report.ok:
        print(f"xwrap: {report.summary()}", file=sys.stderr)
    return 0 if report.ok else 1


def _replay(args: argparse.Namespace) -> int:
    from .replay.command import replay_files

    return replay_files(args.exchange, args.files)


def _config_show(args: argparse.Namespace) -> int:
    print(json.dumps(to_json(_settings(args)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
