"""Settings: one JSON file plus ``XWRAP_…`` environment overrides, validated at start-up.

The schema is the dataclasses below: their fields are the keys, their annotations the types,
their ``doc`` metadata the documentation (``docs/configuration.md`` and ``settings-sample.json``
are checked against it by the tests). Loading either returns a complete :class:`Settings` or
raises :class:`ConfigError` naming the one key that is wrong and what was expected.
"""

from __future__ import annotations

import functools
import json
import os
import re
import ssl
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from .core.errors import ConfigError, InvalidParameter
from .core.exchanges import EXCHANGE_NAMES
from .core.money import parse_decimal
from .core.pairs import Pair

ENV_PREFIX = "XWRAP_"
_INTEGER = re.compile(r"-?[0-9]+")

#: A URL's password: in its user part (``scheme://user:PASSWORD@host``, up to the last ``@`` of the
#: host part, for a password written with a raw ``@``) or in a query parameter naming a secret.
_URL_PASSWORD = re.compile(
    r"^([a-z][a-z0-9+.-]*://[^/?#:@]*:)[^/?#]*(@)"
    r"|([?&][^=&#]*(?:pass|token|secret|key|sign)[^=&#]*=)[^&#]*",
    re.IGNORECASE,
)


def setting(default: Any = MISSING, doc: str = "", *, secret: bool = False, factory: Any = MISSING) -> Any:
    """A settings field with its documentation; ``secret`` values are never printed."""
    meta = {"doc": doc, "secret": secret}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ServerSettings:
    host: str = setting("127.0.0.1", "Address to listen on. Any address but loopback needs at least one API token.")
    port: int = setting(8350, "TCP port for every door: JSON-RPC, REST, Socket.IO, the dashboard and /metrics.")
    max_request_bytes: int = setting(1_048_576, "Largest HTTP request body or websocket message accepted.")
    max_connections_per_client: int = setting(32, "Open websocket/Socket.IO connections allowed per client address.")
    max_batch_requests: int = setting(100, "Most calls in one JSON-RPC batch; a longer batch is refused whole.")
    max_batch_answer_bytes: int = setting(
        1_048_576,
        "Once the answers of a JSON-RPC batch reach this size, its "
        "remaining calls are not run and each is answered with an error.",
    )
    send_timeout_seconds: Decimal = setting(
        Decimal(30),
        "A websocket or Socket.IO client that leaves what it is sent unread this long is disconnected as too slow.",
    )
    cors_origins: list[str] = setting(doc="Origins allowed by CORS; empty turns CORS off.", factory=list)
    tls_certificate: str = setting(
        "",
        "PEM certificate file (its chain after it) to serve HTTPS and WSS on the port, every door; "
        "empty serves plain HTTP. Set with tls_key.",
    )
    tls_key: str = setting("", "PEM file of the certificate's private key (unencrypted), readable by the service.")


@dataclass(frozen=True)
class ApiToken:
    name: str = setting(doc="A label for the token, shown in logs instead of the token.")
    token: str = setting(doc="The bearer token itself (at least 16 characters).", secret=True)
    scope: Literal["read", "trade"] = setting("read", "read: queries only; trade: also orders and wallet changes.")


@dataclass(frozen=True)
class InfluxSettings:
    api: Literal["v1", "v2"] = setting(
        "v2",
        "v2: InfluxDB 2.x/3.x (and 1.8+ through its 2.x compatibility API), written with influxdb-client; "
        "v1: a 1.x server's HTTP API (/write, /query with InfluxQL).",
    )
    url: str = setting("http://127.0.0.1:8086", "The InfluxDB server's URL.")
    org: str = setting("xwrap", "InfluxDB organisation (v2).")
    bucket: str = setting("xwrap", "InfluxDB bucket for market time series (v2).")
    token: str = setting("", "InfluxDB API token (v2).", secret=True)
    database: str = setting("xwrap", "InfluxDB database for market time series (v1).")
    username: str = setting("", "InfluxDB user (v1); empty when the server has no authentication.")
    password: str = setting("", "InfluxDB user's password (v1).", secret=True)
    timeout_seconds: Decimal = setting(Decimal(10), "How long one write or query may take before it fails.")


@dataclass(frozen=True)
class TimeseriesSettings:
    backend: Literal["database", "influxdb", "none"] = setting(
        "database",
        "Where market time series (trades, 1-minute candles, book tops) go: the service's own database, "
        "InfluxDB, or nowhere (nothing is collected).",
    )
    influxdb: InfluxSettings = setting(doc="Used when backend is influxdb.", factory=InfluxSettings)
    book_top_seconds: Decimal = setting(
        Decimal(1), "How often each followed book's best bid and ask are sampled, in seconds; 0 samples none."
    )
    backfill_hours: int = setting(
        24, "At start, the 1-minute candles of this many past hours are fetched from each exchange; 0 fetches none."
    )
    queue_size: int = setting(
        100000, "Records waiting for the writer at most; beyond it new ones are dropped (counted in /metrics)."
    )


@dataclass(frozen=True)
class RecordingSettings:
    enabled: bool = setting(False, "Record the raw exchange traffic (every websocket message and REST answer).")
    directory: str = setting("data/recordings", "Where the recordings go, one file per connection.")
    rotate_megabytes: int = setting(64, "A file is closed and a new one started past this size (uncompressed).")
    rotate_minutes: int = setting(60, "... or past this age.")
    gzip: bool = setting(True, "Compress the files (.gz); replay reads both.")


@dataclass(frozen=True)
class ClusterSettings:
    node: str = setting("", "This node's name, unique among the nodes; empty: one node alone (no cluster).")
    redis: str = setting(
        "redis://127.0.0.1:6379/0", "The Redis the nodes share (forwarded orders, notifications, book copies)."
    )
    lease_seconds: int = setting(
        10, "How long an exchange's lease lasts unrenewed: another node takes a dead owner's over within it."
    )
    key_prefix: str = setting(
        "xwrap", "Prefix of every Redis key and channel of this cluster (two clusters may share one Redis)."
    )


@dataclass(frozen=True)
class LatencySettings:
    model: Literal["zero", "fixed", "uniform", "normal"] = setting(
        "zero", "How order-entry and cancel latency is drawn for paper orders."
    )
    order_ms: Decimal = setting(Decimal(0), "Fixed latency, or the mean/centre, for order entry, in milliseconds.")
    cancel_ms: Decimal = setting(Decimal(0), "The same for cancels, in milliseconds.")
    jitter_ms: Decimal = setting(Decimal(0), "Spread: half-width for uniform, standard deviation for normal.")


@dataclass(frozen=True)
class PaperSettings:
    latency: LatencySettings = setting(doc="Simulated order-entry and cancel latency.", factory=LatencySettings)
    market_buy_margin: Decimal = setting(
        Decimal("0.05"), "Extra fraction held for a market buy over what walking the book would cost."
    )


@dataclass(frozen=True)
class FeeSettings:
    maker: Decimal | None = setting(None, "Maker fee rate (0.001 = 0.1 %); null uses the market's default.")
    taker: Decimal | None = setting(None, "Taker fee rate; null uses the market's default.")


@dataclass(frozen=True)
class ExchangeSettings:
    enabled: bool = setting(True, "Connect to this exchange at start-up.")
    mode: Literal["paper", "live"] = setting(
        "paper", "paper: public data only, orders go to the virtual exchange; live: also trade with the keys below."
    )
    pairs: list[str] = setting(doc="Pairs to follow, in unified names (BTC_USD).", factory=list)
    rest_url: str = setting(
        "", "REST base URL (empty: the exchange's public one). Point it at a local simulator in tests."
    )
    ws_url: str = setting("", "Websocket URL (empty: the exchange's public one).")
    api_key: str = setting("", "API key (live mode).", secret=True)
    api_secret: str = setting("", "API secret (live mode).", secret=True)
    passphrase: str = setting("", "API passphrase (Coinbase and OKX live mode).", secret=True)
    fees: FeeSettings = setting(doc="Fee rates overriding the market defaults.", factory=FeeSettings)


def _exchange(name: str, *pairs: str) -> Any:
    return setting(
        doc=f"{name}: its public feeds and, in live mode, its account.",
        factory=lambda: ExchangeSettings(pairs=list(pairs)),
    )


@dataclass(frozen=True)
class CcxtExchangeSettings(ExchangeSettings):
    """The ``ccxt`` entry: any exchange ccxt knows, by its ccxt id, through the generic adapter."""

    enabled: bool = setting(False, "Connect to this exchange at start-up.")
    exchange_id: str = setting(
        "",
        "ccxt entry only: the ccxt exchange id to follow (kucoin, gateio, ...: ccxt.exchanges lists them); "
        "needs the ccxt extra (pip install 'xwrap[ccxt]').",
    )
    poll_seconds: Decimal = setting(
        Decimal(2), "ccxt entry only: how often each followed book is fetched over REST, in seconds."
    )
    book_levels: int = setting(100, "ccxt entry only: levels a side asked for in each fetched book.")
    stream: bool = setting(
        True,
        "ccxt entry only: books through ccxt's websockets (ccxt.pro) where ccxt streams the exchange; "
        "false: always polled.",
    )


@dataclass(frozen=True)
class ExchangesSettings:
    coinbase: ExchangeSettings = _exchange("Coinbase Exchange", "BTC_USD", "ETH_USD", "SOL_USD")
    binance: ExchangeSettings = _exchange("Binance spot", "BTC_USDT", "ETH_USDT", "SOL_USDT")
    kraken: ExchangeSettings = _exchange("Kraken spot", "BTC_USD", "ETH_USD", "SOL_USD")
    bitfinex: ExchangeSettings = _exchange("Bitfinex", "BTC_USD", "ETH_USD", "SOL_USD")
    poloniex: ExchangeSettings = _exchange("Poloniex spot", "BTC_USDT", "ETH_USDT", "SOL_USDT")
    okx: ExchangeSettings = _exchange("OKX spot", "BTC_USDT", "ETH_USDT", "SOL_USDT")
    bybit: ExchangeSettings = _exchange("Bybit spot", "BTC_USDT", "ETH_USDT", "SOL_USDT")
    luno: ExchangeSettings = _exchange("Luno", "BTC_ZAR", "ETH_ZAR")
    ccxt: CcxtExchangeSettings = setting(
        doc="Any other exchange, through ccxt (docs/ccxt.md): books streamed or polled, paper or live orders.",
        factory=CcxtExchangeSettings,
    )
    valr: ExchangeSettings = _exchange("VALR spot", "BTC_ZAR", "ETH_ZAR", "BTC_USDC")


#: The conditions an alert rule watches (docs/alerts.md).
AlertCondition = Literal[
    "exchange_unhealthy",
    "book_not_live",
    "reconciliation_differences",
    "order_rejected",
    "rate_limited",
    "drawdown",
    "ledger_verify_failed",
    "history_dropped",
]
ALERT_CONDITIONS: tuple[str, ...] = typing.get_args(AlertCondition)


@dataclass(frozen=True)
class AlertAction:
    type: Literal["log", "webhook", "slack", "email"] = setting(
        "log",
        "log: a WARNING line; webhook: the alert as JSON POSTed to url; slack: a Slack-compatible "
        "{text} POSTed to url; email: a mail to `to` through alerts.smtp.",
    )
    url: str = setting(
        "", "The webhook's URL (webhook, slack); it often holds a token, so it is never shown.", secret=True
    )
    to: list[str] = setting(doc="The mail's recipients (email).", factory=list)
    timeout_seconds: Decimal = setting(Decimal(10), "How long one delivery attempt may take.")
    retries: int = setting(3, "Attempts after a failed one (webhook, slack, email), waiting longer each time.")


@dataclass(frozen=True)
class AlertRule:
    name: str = setting(doc="The rule's name, unique: alerts carry it.")
    condition: AlertCondition = setting(doc="What the rule watches (docs/alerts.md).")
    exchange: str = setting("", "Only this exchange (empty: every one); for the conditions about exchanges.")
    mode: Literal["any", "paper", "live"] = setting(
        "any", "order_rejected: only orders of wallet sets of this mode (live: rejected by the real exchange)."
    )
    wallet_set_id: int = setting(0, "drawdown: only this wallet set (0: every one).")
    limit: Decimal | None = setting(None, 'drawdown: the fall from the peak equity that fires, a fraction ("0.1").')
    for_seconds: Decimal = setting(
        Decimal(0), "A state (unhealthy, not live, paused, drawdown...) fires once it held this long."
    )
    clear_seconds: Decimal = setting(
        Decimal(300), "An event condition (rejections, differences, drops) clears after this long without a new one."
    )
    repeat_seconds: Decimal = setting(
        Decimal(3600), "Rate limit: at most one notified firing per subject this often; others are shown, not sent."
    )
    actions: list[AlertAction] = setting(doc="What a firing and its clearing do.", factory=lambda: [AlertAction()])


@dataclass(frozen=True)
class SmtpSettings:
    host: str = setting("", "The SMTP server for email actions.")
    port: int = setting(587, "Its port (587: submission with STARTTLS).")
    starttls: bool = setting(
        True, "Upgrade the connection with STARTTLS before logging in (refused if the server cannot)."
    )
    username: str = setting("", "The login (empty: no login).")
    password: str = setting("", "The login's password.", secret=True)
    from_address: str = setting("", "The mails' sender.")
    ca_file: str = setting("", "A PEM file of the certificates to trust for STARTTLS (empty: the system's).")


@dataclass(frozen=True)
class AlertsSettings:
    rules: list[AlertRule] = setting(doc="Alert rules (docs/alerts.md); none: alerts are off.", factory=list)
    interval_seconds: Decimal = setting(Decimal(5), "How often the rules' conditions are looked at.")
    ledger_verify_minutes: int = setting(
        60, "How often ledger_verify_failed rules run the ledger's verification (xwrap ledger verify)."
    )
    keep: int = setting(100, "Cleared alerts kept for get_alerts.")
    smtp: SmtpSettings = setting(doc="The mail server of email actions.", factory=SmtpSettings)


@dataclass(frozen=True)
class Settings:
    database_url: str = setting(
        "sqlite:///data/xwrap.sqlite",
        "sqlite:///PATH (relative to the working directory) or postgresql://user:password@host:port/db.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = setting(
        "INFO",
        "Log level. The HTTP and websocket libraries log from INFO up at any level (their DEBUG lines "
        "are the wire, keys and signatures included).",
    )
    server: ServerSettings = setting(doc="The server and its doors.", factory=ServerSettings)
    tokens: list[ApiToken] = setting(doc="API tokens; none means no authentication (loopback only).", factory=list)
    timeseries: TimeseriesSettings = setting(doc="Market time series storage.", factory=TimeseriesSettings)
    recording: RecordingSettings = setting(doc="Recording the raw exchange traffic.", factory=RecordingSettings)
    paper: PaperSettings = setting(doc="The virtual exchange.", factory=PaperSettings)
    exchanges: ExchangesSettings = setting(doc="One block per exchange.", factory=ExchangesSettings)
    alerts: AlertsSettings = setting(doc="Alert rules and their actions (docs/alerts.md).", factory=AlertsSettings)
    cluster: ClusterSettings = setting(
        doc="Several nodes on one PostgreSQL and one Redis (docs/scaling.md).", factory=ClusterSettings
    )

    def exchange(self, name: str) -> ExchangeSettings:
        return getattr(self.exchanges, name)


# -- loading -------------------------------------------------------------------------------------


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Read ``path`` (or the defaults), apply ``XWRAP_…`` variables from ``env`` and then
    ``overrides`` (dotted keys, e.g. ``{"server.port": 9000}`` from the command line), validate.
    """
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("--config", "a readable settings file", str(path)) from exc
        try:
            raw = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                "--config", f"valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})", str(path)
            ) from None
        except ValueError:  # an integer of more than 4,300 digits, which Python refuses to read
            raise ConfigError("--config", "valid JSON with integers of at most 4300 digits", str(path)) from None
        if not isinstance(raw, dict):
            raise ConfigError("(top level)", "a JSON object", type(raw).__name__)
    env = os.environ if env is None else env
    for key, var, kind in env_variables():
        if var in env:
            _put(raw, key, _from_env(var, env[var], kind))
    for key, value in (overrides or {}).items():
        if value is not None:
            _put(raw, key, value)
    settings = _build(Settings, raw, "")
    _check(settings)
    return settings


def env_variables() -> Iterator[tuple[str, str, Any]]:
    """Every (dotted key, environment variable, type): ``exchanges.binance.api_secret`` is
    ``XWRAP_BINANCE_API_SECRET``; the other keys are ``XWRAP_`` + the dotted key in capitals."""
    for key, _, kind in schema():
        if is_dataclass(kind):
            continue
        name = key.removeprefix("exchanges.")
        yield key, ENV_PREFIX + name.replace(".", "_").upper(), kind


def schema(cls: type = Settings, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every key of the settings as (dotted key, dataclass field, type), depth first."""
    for f in fields(cls):
        key = prefix + f.name
        kind = _types(cls)[f.name]
        yield key, f, kind
        if isinstance(kind, type) and is_dataclass(kind):
            yield from schema(kind, key + ".")


def to_json(value: Any, *, hide_secrets: bool = True) -> Any:
    """Settings as JSON-ready data (Decimals as strings), secrets replaced by ``"***"`` if set and
    the passwords in URLs too (:func:`hide_password`)."""
    if is_dataclass(value):
        out = {}
        for f in fields(value):
            item = getattr(value, f.name)
            if hide_secrets and f.metadata.get("secret") and item:
                out[f.name] = "***"
            else:
                out[f.name] = to_json(item, hide_secrets=hide_secrets)
        return out
    if isinstance(value, list):
        return [to_json(v, hide_secrets=hide_secrets) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str) and hide_secrets:
        return hide_password(value)
    return value


def hide_password(url: str) -> str:
    """``url`` with its password replaced by ``***``: the user part's
    (``postgresql://xw:***@db/x``) and a query parameter's (``?password=***``, ``&token=***``).
    Other text comes back unchanged. For every URL shown in output, messages and logs."""
    return _URL_PASSWORD.sub(lambda m: f"{m[1]}***{m[2]}" if m[1] else f"{m[3]}***", url)


@functools.cache
def _types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _put(raw: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = raw
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


def _from_env(var: str, text: str, kind: Any) -> Any:
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(var, "true or false", text)
    if kind is int:
        if not _INTEGER.fullmatch(text.strip()):  # int() also reads "８３５０" and "8_350"
            raise ConfigError(var, "an integer", text)
        try:
            return int(text)
        except ValueError:  # more than 4,300 digits
            raise ConfigError(var, "an integer of at most 4300 digits", text) from None
    origin = typing.get_origin(kind)
    if origin is list:
        if text.lstrip().startswith("["):
            try:
                return json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as exc:  # not the text: XWRAP_TOKENS holds secrets
                raise ConfigError(
                    var, f"a JSON list or comma-separated values ({exc.msg} at column {exc.colno})", present=False
                ) from None
            except ValueError:  # an integer of more than 4,300 digits
                raise ConfigError(var, "a JSON list with integers of at most 4300 digits", present=False) from None
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _build(kind: Any, value: Any, key: str) -> Any:
    label = key or "(top level)"
    if isinstance(kind, type) and is_dataclass(kind):  # a section (hints are classes, never instances)
        if not isinstance(value, dict):
            holds_secrets = any(f.metadata.get("secret") for f in fields(kind))  # a token given bare
            raise ConfigError(label, "an object", value, present=not holds_secrets)
        known = {f.name: f for f in fields(kind)}
        for name in value:
            if name not in known:
                raise ConfigError(_join(key, name), "no such key (known: " + ", ".join(known) + ")", present=False)
        args = {}
        for name, f in known.items():
            if name in value:
                try:
                    args[name] = _build(_types(kind)[name], value[name], _join(key, name))
                except ConfigError as error:
                    if not f.metadata.get("secret"):
                        raise
                    raise ConfigError(error.key, error.expected, present=False) from None  # not the value
            elif f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(_join(key, name), f"a value ({f.metadata.get('doc', '')})", present=False)
        return kind(**args)
    origin = typing.get_origin(kind)
    if origin is Literal:
        choices = typing.get_args(kind)
        if value not in choices:
            raise ConfigError(label, "one of " + ", ".join(repr(c) for c in choices), value)
        return value
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None:
            return None
        return _build(options[0], value, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(label, "a list", value)
        (item_kind,) = typing.get_args(kind)
        return [_build(item_kind, item, f"{label}[{i}]") for i, item in enumerate(value)]
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(label, "true or false", value)
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(label, "an integer", value)
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(label, "a string", value)
        return value
    if kind is Decimal:  # as amounts in the API: a decimal string in ASCII digits, never a JSON number
        expected = 'a non-negative decimal string in ASCII digits such as "0.001"'
        if not isinstance(value, str):
            raise ConfigError(label, expected, value)
        try:
            return parse_decimal(value, label, non_negative=True)
        except InvalidParameter:
            raise ConfigError(label, expected, value) from None
    raise TypeError(f"unsupported settings type {kind!r} for {label}")


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _check(settings: Settings) -> None:
    server = settings.server
    if not 0 <= server.port <= 65535:
        raise ConfigError("server.port", "a TCP port from 0 to 65535", server.port)
    if server.max_request_bytes < 1024:
        raise ConfigError("server.max_request_bytes", "at least 1024", server.max_request_bytes)
    if server.max_connections_per_client < 1:
        raise ConfigError("server.max_connections_per_client", "at least 1", server.max_connections_per_client)
    if server.max_batch_requests < 1:
        raise ConfigError("server.max_batch_requests", "at least 1", server.max_batch_requests)
    if server.max_batch_answer_bytes < 1024:
        raise ConfigError("server.max_batch_answer_bytes", "at least 1024", server.max_batch_answer_bytes)
    if server.send_timeout_seconds <= 0:
        raise ConfigError("server.send_timeout_seconds", "more than 0", str(server.send_timeout_seconds))
    tls_context(server)  # the files read and the key matched now, not when the first client connects
    timeseries, recording = settings.timeseries, settings.recording
    for key, value, least in (
        ("timeseries.book_top_seconds", timeseries.book_top_seconds, 0),
        ("timeseries.backfill_hours", timeseries.backfill_hours, 0),
        ("timeseries.queue_size", timeseries.queue_size, 1),
        ("recording.rotate_megabytes", recording.rotate_megabytes, 1),
        ("recording.rotate_minutes", recording.rotate_minutes, 1),
    ):
        if value < least:
            raise ConfigError(key, f"at least {least}", str(value))
    if timeseries.influxdb.timeout_seconds <= 0:
        raise ConfigError(
            "timeseries.influxdb.timeout_seconds", "more than 0", str(timeseries.influxdb.timeout_seconds)
        )
    if not (settings.database_url.startswith(("sqlite:///", "postgresql://", "postgres://"))):
        raise ConfigError(
            "database_url", "sqlite:///PATH or postgresql://user@host:port/db", hide_password(settings.database_url)
        )
    cluster = settings.cluster
    if cluster.node:
        if settings.database_url.startswith("sqlite:///"):
            raise ConfigError(
                "database_url", "a postgresql:// database for cluster mode (cluster.node is set)", "sqlite"
            )
        if not cluster.redis.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("cluster.redis", "redis://host:port/db", hide_password(cluster.redis))
        if cluster.lease_seconds < 1:
            raise ConfigError("cluster.lease_seconds", "at least 1", str(cluster.lease_seconds))
    seen: set[str] = set()
    for i, token in enumerate(settings.tokens):
        if len(token.token) < 16:
            raise ConfigError(f"tokens[{i}].token", "a secret of at least 16 characters", present=False)
        if token.token in seen:
            raise ConfigError(f"tokens[{i}].token", "a token different from the others", present=False)
        seen.add(token.token)
    if server.host not in ("127.0.0.1", "localhost", "::1") and not settings.tokens:
        raise ConfigError(
            "tokens",
            f"at least one API token to listen on {server.host} (only loopback may run without tokens)",
            present=False,
        )
    _check_ccxt(settings.exchanges.ccxt)
    for name in EXCHANGE_NAMES:
        exchange = settings.exchange(name)
        for i, pair in enumerate(exchange.pairs):
            try:
                Pair.parse(pair)
            except InvalidParameter:
                raise ConfigError(f"exchanges.{name}.pairs[{i}]", 'a pair such as "BTC_USD"', pair) from None
        if exchange.enabled and exchange.mode == "live":
            needed = ("api_key", "api_secret") + (("passphrase",) if name in ("coinbase", "okx") else ())
            for secret in needed:
                if not getattr(exchange, secret):
                    var = f"{ENV_PREFIX}{name.upper()}_{secret.upper()}"
                    raise ConfigError(
                        f"exchanges.{name}.{secret}",
                        f"a value for live trading (in the settings file or {var})",
                        present=False,
                    )
    _check_alerts(settings.alerts)


def _check_alerts(alerts: AlertsSettings) -> None:
    if alerts.interval_seconds <= 0:
        raise ConfigError("alerts.interval_seconds", "more than 0", str(alerts.interval_seconds))
    for key, value in (("alerts.ledger_verify_minutes", alerts.ledger_verify_minutes), ("alerts.keep", alerts.keep)):
        if value < 1:
            raise ConfigError(key, "at least 1", str(value))
    if not 0 < alerts.smtp.port <= 65535:
        raise ConfigError("alerts.smtp.port", "a TCP port from 1 to 65535", alerts.smtp.port)
    names: set[str] = set()
    for i, rule in enumerate(alerts.rules):
        key = f"alerts.rules[{i}]"
        if not rule.name.strip() or rule.name in names:
            raise ConfigError(f"{key}.name", "a name different from the other rules'", rule.name)
        names.add(rule.name)
        if rule.exchange and rule.exchange not in EXCHANGE_NAMES:
            raise ConfigError(f"{key}.exchange", "empty or one of " + ", ".join(EXCHANGE_NAMES), rule.exchange)
        if rule.condition == "drawdown":
            if rule.limit is None or not 0 < rule.limit <= 1:
                raise ConfigError(f"{key}.limit", 'a fraction above 0 and at most 1 ("0.1": 10 %)', str(rule.limit))
        elif rule.limit is not None:
            raise ConfigError(f"{key}.limit", "null (only drawdown rules take a limit)", str(rule.limit))
        if rule.wallet_set_id < 0:
            raise ConfigError(f"{key}.wallet_set_id", "0 (every set) or a wallet set's id", rule.wallet_set_id)
        if not rule.actions:
            raise ConfigError(f"{key}.actions", "at least one action", "[]")
        for j, action in enumerate(rule.actions):
            _check_action(alerts.smtp, action, f"{key}.actions[{j}]")


def _check_action(smtp: SmtpSettings, action: AlertAction, key: str) -> None:
    if action.timeout_seconds <= 0:
        raise ConfigError(f"{key}.timeout_seconds", "more than 0", str(action.timeout_seconds))
    if not 0 <= action.retries <= 10:
        raise ConfigError(f"{key}.retries", "from 0 to 10", action.retries)
    if action.type in ("webhook", "slack") and not re.match(r"https?://[^/\s]+", action.url):
        raise ConfigError(f"{key}.url", "an http:// or https:// URL", present=False)  # it may hold a token
    if action.type == "email":
        if not action.to or not all(re.fullmatch(r"[^@\s]+@[^@\s]+", to) for to in action.to):
            raise ConfigError(f"{key}.to", "one or more mail addresses", action.to)
        if not smtp.host or not smtp.from_address:
            raise ConfigError(
                "alerts.smtp.host" if not smtp.host else "alerts.smtp.from_address",
                "a value for email actions",
                present=False,
            )


def _check_ccxt(entry: CcxtExchangeSettings) -> None:
    """The ccxt entry, when enabled: the extra installed and an exchange id ccxt knows."""
    if entry.poll_seconds <= 0:
        raise ConfigError("exchanges.ccxt.poll_seconds", "more than 0", str(entry.poll_seconds))
    if entry.book_levels < 1:
        raise ConfigError("exchanges.ccxt.book_levels", "at least 1", entry.book_levels)
    if not entry.enabled:
        return
    if not entry.exchange_id:
        raise ConfigError("exchanges.ccxt.exchange_id", "a ccxt exchange id such as kucoin", present=False)
    try:
        import ccxt  # type: ignore[import-untyped]  # the optional extra: imported only when asked for
    except ImportError:
        raise ConfigError(
            "exchanges.ccxt.exchange_id", "the ccxt extra installed: pip install 'xwrap[ccxt]'", present=False
        ) from None
    if entry.exchange_id not in ccxt.exchanges:
        raise ConfigError("exchanges.ccxt.exchange_id", "an exchange id of ccxt.exchanges", entry.exchange_id)
    required = getattr(ccxt, entry.exchange_id)().requiredCredentials  # ccxt's password: xWrap's passphrase
    if entry.mode == "live" and required.get("password") and not entry.passphrase:
        raise ConfigError(
            "exchanges.ccxt.passphrase", f"a value for live trading ({entry.exchange_id} has one)", present=False
        )


def tls_context(server: ServerSettings) -> ssl.SSLContext | None:
    """The TLS context serving ``server.tls_certificate`` with ``server.tls_key`` (None without them).
    Raises :class:`ConfigError` naming the setting: only one of the two set, a file missing or
    unreadable, a certificate that is not PEM, a key that is not an unencrypted PEM key or not the
    certificate's."""
    certificate, key = server.tls_certificate, server.tls_key
    if not certificate and not key:
        return None
    if not certificate or not key:
        missing, given = (
            ("server.tls_certificate", "server.tls_key") if key else ("server.tls_key", "server.tls_certificate")
        )
        raise ConfigError(missing, f"a file with {given} (both or neither)", present=False)
    for name, path in (("server.tls_certificate", certificate), ("server.tls_key", key)):
        try:
            Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(name, f"a readable file ({exc.strerror or exc})", path) from None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_verify_locations(cadata=Path(certificate).read_text(encoding="ascii", errors="replace"))
    except (ssl.SSLError, ValueError):
        raise ConfigError(
            "server.tls_certificate", "a PEM certificate (-----BEGIN CERTIFICATE-----)", certificate
        ) from None
    try:  # a password callback: OpenSSL would otherwise ask for an encrypted key's on the terminal
        context.load_cert_chain(certificate, key, password=_no_password)
    except _EncryptedKey:
        raise ConfigError(
            "server.tls_key", "an unencrypted PEM private key (this one asks for a password)", key
        ) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise ConfigError("server.tls_key", "the private key of server.tls_certificate", key) from None
        raise ConfigError("server.tls_key", "an unencrypted PEM private key", key) from None
    return context


class _EncryptedKey(Exception):
    """The TLS key asked for a password (xWrap reads unencrypted keys only)."""


def _no_password() -> bytes:
    raise _EncryptedKey
