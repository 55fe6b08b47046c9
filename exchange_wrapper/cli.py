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
        metavar="FACTOR",
        help="replay pace (with --replay): 1 is the recorded speed (the default), 10 ten times faster, "
        "max as fast as possible, step only as far as a client asks (advance_replay; a scripted backtest, "
        "with --clock recorded)",
    )
    _window_options(serve)
    serve.add_argument(
        "--loop", action="store_true", help="start the replay over at its end (--to), from fresh snapshots"
    )
    serve.add_argument(
        "--clock",
        choices=("wall", "recorded"),
        help="the service's time on a replay: the wall clock (the default) or the recorded time, which "
        "order and fill times, latency, GTD expiry and book ages then follow (a backtest)",
    )
    serve.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="seed of the paper latency draws on a replay (default 0): the same orders at the same recorded "
        "moments give the same fills",
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
    _window_options(replay, counted=True)
    replay.set_defaults(run=_replay)

    record = commands.add_parser(
        "record",
        help="record an exchange's public traffic, for replays",
        description="Run one exchange's live market feed with its traffic (websocket messages, REST answers) "
        "recorded as capture files in a new folder of --out named by the start time (rotation and gzip: the "
        "recording settings), and nothing else; print what was written as one JSON object. xwrap replay and "
        "xwrap serve --replay read the files.",
    )
    _settings_options(record)
    record.add_argument(
        "--exchange", required=True, choices=EXCHANGE_NAMES, metavar="NAME", help="one of " + ", ".join(EXCHANGE_NAMES)
    )
    record.add_argument(
        "--pair",
        action="append",
        default=[],
        metavar="PAIR",
        help="a pair to follow (BTC_USD), repeatable; default: the settings' pairs of the exchange",
    )
    record.add_argument("--out", required=True, metavar="DIR", help="where the recording's folder goes")
    record.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (default: at a signal)")
    record.set_defaults(run=_record)

    backfill = commands.add_parser(
        "backfill",
        help="fetch an exchange's past 1-minute candles into the history store",
        description="Page the exchange's REST candles of one pair over [--from, --to) within its published limits "
        "into the store timeseries.backend names, skipping what is stored (a rerun resumes where one stopped); a "
        "progress bar on stderr, the summary as one JSON object on stdout (requests, candles written, minutes "
        "stored, the exchange's own gaps, what it cannot serve); exit 1 if an error of the exchange stopped it.",
    )
    _settings_options(backfill)
    backfill.add_argument(
        "--exchange", required=True, choices=EXCHANGE_NAMES, metavar="NAME", help="one of " + ", ".join(EXCHANGE_NAMES)
    )
    backfill.add_argument("--pair", required=True, metavar="PAIR", help="the pair, in unified names (BTC_USD)")
    backfill.add_argument("--interval", default="1m", help="1m, the interval the store keeps (the default)")
    backfill.add_argument("--from", dest="start", required=True, metavar="TIME", help="Unix seconds or ISO 8601 (UTC)")
    backfill.add_argument("--to", dest="end", required=True, metavar="TIME", help="the end, excluded")
    backfill.set_defaults(run=_backfill)

    health = commands.add_parser(
        "health",
        help="ask the running service whether it is live or ready (a container's health check)",
        description="Ask the service these settings describe, on loopback, whether it is live "
        "(GET /xwrap/v1/health/live) or ready (/xwrap/v1/health/ready); print its answer. "
        "Exit status 0 if so, 1 if not or if nothing answers.",
    )
    health.add_argument("probe", choices=("live", "ready"), help="which probe")
    _settings_options(health)
    health.set_defaults(run=_health)

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


def _window_options(parser: argparse.ArgumentParser, *, counted: bool = False) -> None:
    """``--from`` and ``--to``: a window within the recording, Unix seconds or ISO 8601 times."""
    before = "counted" if counted else "played"
    parser.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help=f"start of the window {before} (Unix seconds or ISO 8601, UTC); records before it only build the books",
    )
    parser.add_argument("--to", dest="end", metavar="TIME", help="end of the window: the replay stops there")


def _settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="settings file (JSON); defaults apply without one")
    parser.add_argument("--database-url", help="database URL (database_url)")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"database_url": args.database_url}
    if hasattr(args, "host"):
        overrides.update({"server.host": args.host, "server.port": args.port})
    return load_settings(args.config, overrides=overrides)


def _serve(args: argparse.Namespace) -> int:
    from .replay.playback import MAX_SPEED, PlaybackOptions
    from .service.server import serve

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    replay_only = {
        "--speed": args.speed,
        "--from": args.start,
        "--to": args.end,
        "--loop": args.loop or None,
        "--clock": args.clock,
        "--seed": args.seed,
    }
    for option, value in replay_only.items():
        if value is not None and not args.replay:
            raise ConfigError(option, "--replay FILE... with it (it says how to play a replay)", value)
    stepped = args.speed == "step"
    speed = 1.0 if args.speed is None else MAX_SPEED if args.speed in ("max", "step") else _number(args.speed)
    if not (speed > 0 and (math.isfinite(speed) or args.speed in ("max", "step"))):
        raise ConfigError("--speed", "a factor above 0, max or step", args.speed)
    start, end = _window(args)
    playback = PlaybackOptions(
        start=start,
        end=end,
        loop=args.loop,
        recorded_clock=args.clock == "recorded",
        steps=stepped,
        seed=0 if args.seed is None else args.seed,
    )
    asyncio.run(serve(settings, replay=args.replay, speed=speed, playback=playback))
    return 0


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _window(args: argparse.Namespace) -> tuple[float | None, float | None]:
    from .core.times import parse_time

    return (
        None if args.start is None else parse_time("--from", args.start),
        None if args.end is None else parse_time("--to", args.end),
    )


def _ledger_verify(args: argparse.Namespace) -> int:
    from .core.exchanges import EXCHANGE_NAMES
    from .storage.database import close_database, open_database
    from .storage.verify import SHOWN_DIFFERENCES, highest_fee, verify_ledger

    settings = _settings(args)
    database = open_database(settings.database_url, create=False)
    try:
        takers = [settings.exchange(name).fees.taker for name in EXCHANGE_NAMES]
        report = verify_ledger(database, max_fee=highest_fee(takers))
    finally:
        close_database(database)
    print(json.dumps(report.as_json(limit=SHOWN_DIFFERENCES), indent=2))
    if not report.ok:
        print(f"xwrap: {report.summary()}", file=sys.stderr)
    return 0 if report.ok else 1


def _replay(args: argparse.Namespace) -> int:
    from .replay.command import replay_files

    return replay_files(args.exchange, args.files, *_window(args))


def _record(args: argparse.Namespace) -> int:
    from .history.record import record_command

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return record_command(settings, args.exchange, args.pair, args.out, args.duration)


def _backfill(args: argparse.Namespace) -> int:
    from .core.times import parse_time
    from .history.backfill_command import backfill_command

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    start, end = parse_time("--from", args.start), parse_time("--to", args.end)
    return backfill_command(settings, args.exchange, args.pair, args.interval, start, end)


def _health(args: argparse.Namespace) -> int:
    from .service.probe import probe

    ok, answer = probe(_settings(args).server, args.probe)
    print(answer)
    return 0 if ok else 1


def _config_show(args: argparse.Namespace) -> int:
    print(json.dumps(to_json(_settings(args)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
