"""The API's contract: every operation with its parameters and its result, the notification topics,
the JSON-RPC path and the error kinds with their codes, written once, as data.

The service's methods (:mod:`.service.api`, one per operation, with the parameters' types), the
doors and their REST routes, the OpenAPI document (:mod:`.service.openapi`), the client's methods
(:mod:`.client_operations`, generated from :data:`OPERATIONS`) and the parameter tables of
docs/api.md are derived from it, so that they cannot drift apart. This module is pure (the standard
library only): a strategy's process imports it through the client without loading the server.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, NewType, TypedDict, get_args

RPC_PATH = "/xwrap/v1/rpc"
#: The topics clients can subscribe to.
TOPICS = ("orders", "fills", "wallets", "books", "status", "logs", "alerts")
#: error kind -> (JSON-RPC error code, HTTP status): what each kind means is in docs/api.md.
ERROR_CODES: dict[str, tuple[int, int]] = {
    "invalid_parameter": (-32602, 400),
    "unknown_exchange": (-32001, 404),
    "unknown_pair": (-32002, 404),
    "precision_violation": (-32003, 422),
    "market_closed": (-32004, 422),
    "insufficient_funds": (-32005, 422),
    "order_not_found": (-32006, 404),
    "not_found": (-32007, 404),
    "conflict": (-32008, 409),
    "exchange_unavailable": (-32009, 503),
    "rate_limited": (-32010, 429),
    "unauthorised": (-32011, 401),
    "forbidden": (-32012, 403),
    "config_error": (-32013, 500),
    "too_many_connections": (-32014, 429),
    "overallocated": (-32015, 409),
    "exchange_rejected": (-32016, 422),
    "database_unavailable": (-32017, 503),
    "method_not_found": (-32601, 404),
    "parse_error": (-32700, 400),
    "invalid_request": (-32600, 400),
    "internal_error": (-32603, 500),
}
LARGEST_ID = 2**63 - 1  # the database's integer keys are signed 64-bit

# The values of the service's enums, as parameters and results carry them (tests/test_contract.py
# checks them against the enums).
SideName = Literal["buy", "sell"]
OrderTypeName = Literal["market", "limit", "stop_market", "stop_limit"]
TimeInForceName = Literal["GTC", "IOC", "FOK", "GTD"]
OrderStatusName = Literal["pending", "open", "partially_filled", "filled", "cancelled", "rejected", "expired"]
LiquidityName = Literal["maker", "taker"]
ModeName = Literal["paper", "live"]
BookStateName = Literal["live", "stale", "resyncing"]
FeedStatusName = Literal["connecting", "ready", "degraded", "down", "finished"]
#: A statement line's kind: the ledger's transaction kinds, and a fill's fee (core/statement.py).
StatementKindName = Literal[
    "fund", "withdraw", "allocate", "deallocate", "transfer", "hold", "release", "fill", "reconcile", "fee", "close"
]
SIDES: tuple[str, ...] = get_args(SideName)
ORDER_TYPES: tuple[str, ...] = get_args(OrderTypeName)
TIMES_IN_FORCE: tuple[str, ...] = get_args(TimeInForceName)
MODES: tuple[str, ...] = get_args(ModeName)
ORDER_LISTS = ("open", "recent")
#: Candle intervals get_ohlc serves (aggregated from the stored 1-minute candles), by name -> seconds.
CANDLE_INTERVALS: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}

#: What a parameter holds, as every door reads it:
#: ``text`` a string (``max_length``), ``integer`` (``minimum`` to ``maximum``), ``decimal`` an amount as
#: a decimal string, ``time`` Unix seconds, ``flag`` true or false, ``choice`` one of ``choices``,
#: ``exchange`` an enabled exchange's name, ``pair`` ``BASE_QUOTE``, ``currency`` a currency code,
#: ``order_id`` an order's id as xWrap gave it, ``allocations`` a list of ``{exchange, currency, amount}`` objects.
Kind = Literal[
    "text", "integer", "decimal", "time", "flag", "choice", "exchange", "pair", "currency", "order_id", "allocations"
]
#: The most allocations one call takes.
MAX_ALLOCATIONS = 100


@dataclass(frozen=True)
class Param:
    """One parameter of an operation: its name, what it holds (:data:`Kind` and its bounds), whether
    it is required or its default, and its documented meaning. ``rest`` is false for a parameter only
    JSON-RPC and Socket.IO take (naming an order by ``client_order_id``: REST names it in its path)."""

    name: str
    kind: Kind
    meaning: str
    required: bool = False
    default: str | int | bool | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    rest: bool = True

    @property
    def python_type(self) -> str:
        """The annotation of the parameter in Python (the client's methods)."""
        if self.kind == "choice":
            return "Literal[" + ", ".join(f'"{c}"' for c in self.choices) + "]"
        return {
            "integer": "int",
            "decimal": "Decimal | str",
            "time": "float",
            "flag": "bool",
            "allocations": "list[dict[str, str]]",
        }.get(self.kind, "str")


def _id(name: str, meaning: str) -> Param:
    return Param(name, "integer", meaning, minimum=1, maximum=LARGEST_ID)


#: parameter name -> its definition: one meaning per name across every operation (an operation may
#: make it required, or take it only on JSON-RPC).
PARAMETERS: dict[str, Param] = {
    param.name: param
    for param in (
        Param("exchange", "exchange", "An exchange by name"),
        Param("pair", "pair", "A pair in unified BASE_QUOTE form"),
        Param("currency", "currency", "A currency code", max_length=16),
        Param("depth", "integer", "Levels per side", default=10, minimum=1, maximum=1000),
        Param(
            "interval",
            "choice",
            "Candle length: 1m, 5m, 15m, 1h, 4h or 1d",
            default="1m",
            choices=tuple(CANDLE_INTERVALS),
        ),
        Param("start", "time", "Start of the time range, Unix seconds (included)"),
        Param("end", "time", "End of the time range, Unix seconds (excluded; default now)"),
        Param("until", "time", "The recorded moment to play the replay up to, Unix seconds"),
        _id("wallet_set_id", "A wallet set's id"),
        _id("from_wallet_set_id", "The wallet set the funds leave"),
        _id("to_wallet_set_id", "The wallet set the funds go to"),
        Param("order_id", "order_id", "An order's id as xWrap gave it"),
        Param("side", "choice", "buy or sell", choices=SIDES),
        Param("type", "choice", "Order type", default="limit", choices=ORDER_TYPES),
        Param("size", "decimal", "Size in base units"),
        Param("funds", "decimal", "Quote amount to spend (market buy without a size)"),
        Param("price", "decimal", "Limit price"),
        Param("stop_price", "decimal", "Stop trigger price (stop_market, stop_limit)"),
        Param(
            "time_in_force", "choice", "GTC, IOC, FOK, or GTD with expire_time", default="GTC", choices=TIMES_IN_FORCE
        ),
        Param("expire_time", "time", "When a GTD order expires, Unix seconds"),
        Param("post_only", "flag", "Refuse to take liquidity (limit orders)", default=False),
        Param(
            "client_order_id", "text", "Your id for the order; placing it again returns the first order", max_length=64
        ),
        Param("strict", "flag", "Refuse a price or size off the market's grid instead of rounding it", default=False),
        Param("status", "choice", "Open orders only, or recent ones too", default="open", choices=ORDER_LISTS),
        Param("limit", "integer", "At most this many", default=100, minimum=1, maximum=1000),
        _id("before", "Page: orders older than this id (next_before of the previous page)"),
        Param("name", "text", "A name for the wallet set", max_length=64),
        Param("mode", "choice", "paper or live", default="paper", choices=MODES),
        Param("amount", "decimal", "An amount of the currency"),
        Param(
            "allocations",
            "allocations",
            f"Funds the new wallet set is given at once: up to {MAX_ALLOCATIONS} of {{exchange, currency, amount}}",
        ),
        Param(
            "tag",
            "text",
            "A strategy run's label: given to make_order, carried by the order and its fills; filters them",
            max_length=64,
        ),
        Param("kind", "choice", "A statement line's kind", choices=get_args(StatementKindName)),
        Param("cursor", "text", "Page: the lines after this one (next_cursor of the previous page)", max_length=64),
    )
}


def _params(*names: str, required: tuple[str, ...] = (), rpc_only: tuple[str, ...] = ()) -> tuple[Param, ...]:
    return tuple(
        dataclasses.replace(PARAMETERS[name], required=name in required, rest=name not in rpc_only) for name in names
    )


# -- results --------------------------------------------------------------------------------------
# Times are Unix seconds (but a ledger entry's ``created_at``: microseconds).

#: An amount: a decimal string such as "0.01" (a ``str`` to Python; the OpenAPI document gives its pattern).
Amount = NewType("Amount", str)


class _LiveExchange(TypedDict, total=False):
    account: dict[str, Any]  # a live exchange's account: its state and why


class ExchangeState(_LiveExchange):
    mode: ModeName
    status: FeedStatusName
    reason: str | None
    pairs: list[str]


class Database(TypedDict):
    kind: Literal["sqlite", "postgresql"]
    url: str
    schema_version: int


class ReplayState(TypedDict):
    """Where a replay (``xwrap serve --replay``) is: ``clock`` "recorded" when recorded time drives the
    service's clock (``time`` is then that time), the window, the pace, the pass and whether it is
    ``playing``, ``holding`` (a stepped replay waiting for advance_replay) or ``finished``."""

    clock: Literal["recorded", "wall"]
    time: float | None
    start: float | None
    end: float | None
    speed: str  # "step", "max" or the factor of the recorded pace ("1", "0.1")
    loop: bool
    passes: int
    state: Literal["playing", "holding", "finished"]


class LeaseState(TypedDict):
    """Who runs an exchange in cluster mode: ``owner`` (None: no node holds its lease now), its
    fencing ``epoch``, and the seconds its lease has left unrenewed."""

    owner: str | None
    epoch: int
    lease_left: float


class ClusterState(TypedDict):
    """This node's name and every enabled exchange's lease (docs/scaling.md)."""

    node: str
    exchanges: dict[str, LeaseState]


class _Replaying(TypedDict, total=False):
    replay: ReplayState  # only while the service runs on a replay
    cluster: ClusterState  # only in cluster mode (cluster.node set)


class Status(_Replaying):
    version: str
    uptime: float
    exchanges: dict[str, ExchangeState]
    database: Database


class Liveness(TypedDict):
    """``GET /xwrap/v1/health/live`` (no token): answered while the process serves."""

    live: bool


class Readiness(TypedDict):
    """``GET /xwrap/v1/health/ready`` (no token): 200 when ``ready``, else 503 with the same body.
    Ready only while the database answers and every exchange this node runs is ``ready``; ``reasons``
    says what is not (empty when ready)."""

    ready: bool
    database: Literal["reachable", "unreachable"]
    exchanges: dict[str, FeedStatusName]
    reasons: list[str]


class Market(TypedDict):
    exchange: str
    pair: str
    symbol: str
    tick_size: Amount | None
    price_significant_digits: int | None
    size_step: Amount | None
    min_size: Amount | None
    max_size: Amount | None
    min_notional: Amount | None
    max_notional: Amount | None
    funds_step: Amount | None
    maker_fee: Amount | None
    taker_fee: Amount | None
    status: str


class Pricing(TypedDict):
    exchange: str
    pair: str
    bid: Amount | None
    ask: Amount | None
    mid: Amount | None
    last: Amount | None
    state: BookStateName


class Book(TypedDict):
    exchange: str
    pair: str
    state: BookStateName
    age: float | None
    bids: list[tuple[Amount, Amount]]  # [price, size], best first
    asks: list[tuple[Amount, Amount]]


class Trade(TypedDict):
    trade_id: str
    price: Amount
    size: Amount
    taker_side: SideName
    time: float


class Candle(TypedDict):
    start: float
    interval: int
    open: Amount
    high: Amount
    low: Amount
    close: Amount
    volume: Amount


class CandlePage(TypedDict):
    """Candles oldest first; ``next`` is the ``start`` that asks for the following page (null: none)."""

    exchange: str
    pair: str
    interval: str
    candles: list[Candle]
    next: float | None


class BookTop(TypedDict):
    time: float
    bid: Amount | None
    bid_size: Amount | None
    ask: Amount | None
    ask_size: Amount | None


class BookTopPage(TypedDict):
    """Book tops oldest first; ``next`` as in :class:`CandlePage`."""

    exchange: str
    pair: str
    tops: list[BookTop]
    next: float | None


class Fill(TypedDict):
    order_id: str
    trade_id: str
    price: Amount
    size: Amount
    fee: Amount
    fee_currency: str
    liquidity: LiquidityName
    time: float
    cause: dict[str, Any]  # what filled it: the book level taken, or the public trade that reached it
    tag: str | None  # its order's run tag


class Order(TypedDict):
    id: str
    client_order_id: str
    wallet_set_id: int
    exchange: str
    pair: str
    side: SideName
    type: OrderTypeName
    size: Amount | None
    funds: Amount | None
    price: Amount | None
    stop_price: Amount | None
    time_in_force: TimeInForceName
    expire_time: float | None
    post_only: bool
    status: OrderStatusName
    filled_size: Amount
    executed_value: Amount
    fees: Amount
    average_price: Amount | None
    created_at: float
    updated_at: float
    reason: str
    triggered: bool
    exchange_order_id: str | None
    tag: str | None
    fills: list[Fill]


#: A change of an order's status (``from`` is a keyword in Python: hence the functional form).
OrderEvent = TypedDict(
    "OrderEvent", {"from": "OrderStatusName | None", "to": "OrderStatusName", "time": float, "reason": "str | None"}
)


class OrderWithEvents(Order):
    events: list[OrderEvent]


class OrderPage(TypedDict):
    orders: list[Order]
    next_before: int | None


class Cancelled(TypedDict):
    cancelled: list[Order]


class Wallet(TypedDict):
    exchange: str
    currency: str
    balance: Amount
    hold: Amount
    available: Amount
    usd_value: Amount | None


class WalletOfSet(Wallet):
    wallet_set_id: int


class WalletSetSummary(TypedDict):
    id: int
    name: str
    mode: ModeName
    created_at: float
    closed_at: float | None  # None while open


class WalletSet(WalletSetSummary):
    wallets: list[Wallet]


class Posting(TypedDict):
    account: str
    exchange: str | None
    currency: str
    amount: Amount


class LedgerEntry(TypedDict):
    id: int
    kind: str
    reference: str | None
    memo: str | None
    created_at: int
    postings: list[Posting]


class Funded(TypedDict):
    entry: LedgerEntry
    wallet: WalletOfSet


class Transferred(TypedDict):
    entry: LedgerEntry


# -- accounting: P&L, valuation, equity history (issue 12) ----------------------------------------


class RateQuote(TypedDict):
    """One price a rate was walked through: a book's ``mid``, its ``last`` trade (the book not live) or
    a stable coin's ``peg`` (no exchange, no time)."""

    exchange: str | None
    pair: str
    price: Amount
    source: Literal["mid", "last", "peg"]
    time: float | None


class Rate(TypedDict):
    """One unit of ``currency`` is worth ``rate`` of ``into``, through ``chain`` in the order walked."""

    currency: str
    into: str
    rate: Amount
    chain: list[RateQuote]


class FeePaid(TypedDict):
    currency: str
    amount: Amount


class PairPnl(TypedDict):
    """A pair's average-cost account: ``position``, ``average_cost``, ``realized`` and ``unrealized`` in
    the pair's own terms (base units, quote currency), ``mark`` the price the open position is marked to;
    the ``*_value`` figures in the valuation currency (null where something could not be valued)."""

    exchange: str
    pair: str
    fills: int
    position: Amount
    average_cost: Amount | None
    mark: RateQuote | None
    realized: Amount
    unrealized: Amount | None
    fees: list[FeePaid]
    realized_value: Amount | None
    unrealized_value: Amount | None
    fees_value: Amount | None
    net_value: Amount | None


class PnlTotals(TypedDict):
    """Sums of what could be valued; ``net`` = realized + unrealized - fees."""

    realized: Amount
    unrealized: Amount
    fees: Amount
    net: Amount


class Pnl(TypedDict):
    """A wallet set's P&L in ``currency`` at ``time``; ``unvalued``: currencies no chain of books reaches
    ``currency`` from; ``unmarked``: pairs (``exchange:PAIR``) with an open position and no price."""

    wallet_set_id: int
    currency: str
    time: float
    pairs: list[PairPnl]
    totals: PnlTotals
    rates: list[Rate]
    unvalued: list[str]
    unmarked: list[str]


class EquitySample(TypedDict):
    """The wallet set's total value in USD at ``time`` (the last sample of its interval); ``unvalued``
    the currencies held then that no chain of books valued (left out of ``value``)."""

    time: float
    value: Amount
    unvalued: list[str]


class WalletHistory(TypedDict):
    """Equity samples oldest first; ``next`` as in :class:`CandlePage`."""

    wallet_set_id: int
    currency: Literal["USD"]
    interval: str
    samples: list[EquitySample]
    next: float | None


class Withdrawn(TypedDict):
    entry: LedgerEntry
    wallet: WalletOfSet


class ClosedWalletSet(WalletSet):
    returned: list[LedgerEntry]  # the entries that returned its balances, one per wallet


class StatementEntry(TypedDict):
    """What one ledger transaction did to one wallet of the set (a fill's fee: a line of its own).
    ``amount`` changes the balance, ``hold_change`` the hold; ``balance``, ``hold`` and ``available`` are
    the wallet's after the line. ``id`` is the line's place (cursor)."""

    id: str
    transaction_id: int
    time: float
    kind: StatementKindName
    exchange: str
    currency: str
    amount: Amount
    hold_change: Amount
    balance: Amount
    hold: Amount
    available: Amount
    order_id: str | None
    trade_id: str | None
    counterparty: str | None
    memo: str


class Statement(TypedDict):
    """A page of a wallet set's statement, newest first; ``next_cursor`` asks for the next (null: none)."""

    wallet_set_id: int
    entries: list[StatementEntry]
    next_cursor: str | None


class LiveAccount(TypedDict):
    currency: str
    reported: Amount | None  # what the exchange reported when last reconciled
    reconciled_at: float | None
    allocated: Amount  # what the live wallet sets own there
    held: Amount  # the part reserved for their open orders
    unallocated: Amount  # what no live wallet set owns


class PaperTotal(TypedDict):
    currency: str
    balance: Amount
    held: Amount
    available: Amount
    wallet_sets: int  # the paper sets owning any


class AccountView(TypedDict):
    exchange: str
    mode: ModeName  # how the exchange trades (its setting)
    live: list[LiveAccount]
    paper: list[PaperTotal]


class Alert(TypedDict):
    """One episode of an alert rule on a subject (docs/alerts.md): ``firing`` until ``cleared_at``.
    ``started_at`` when the condition began to hold (or its first event); ``notified`` false when the
    rule's rate limit kept its actions from running; ``events`` the looks that found new events."""

    id: int
    rule: str
    condition: str
    subject: str
    state: Literal["firing", "cleared"]
    detail: str
    started_at: float
    fired_at: float
    cleared_at: float | None
    notified: bool
    events: int


class Alerts(TypedDict):
    """The alerts firing now (oldest first) and the last cleared ones (most recently cleared first)."""

    active: list[Alert]
    recent: list[Alert]


# -- operations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One operation: its name (the JSON-RPC method), the token scope it needs (``read`` or
    ``trade``), its REST route (``METHOD /path`` under ``/xwrap/v1``, ``{name}`` a parameter in the path),
    a summary, its result's type and its parameters. ``any_params`` takes any named parameters (echo).
    ``csv`` names a list of the result that REST also answers as CSV, at the route's path with ``.csv``.
    An operation of the service is its entry here and its method of the same name in service/api.py."""

    name: str
    scope: Literal["read", "trade"]
    route: str
    summary: str
    result: Any
    params: tuple[Param, ...] = ()
    any_params: bool = False
    csv: str | None = None

    def param(self, name: str) -> Param:
        return next(param for param in self.params if param.name == name)


_ORDER = (
    "wallet_set_id",
    "exchange",
    "pair",
    "side",
    "type",
    "size",
    "funds",
    "price",
    "stop_price",
    "time_in_force",
    "expire_time",
    "post_only",
    "client_order_id",
    "strict",
    "tag",
)
_ORDER_NAMED = ("order_id", "client_order_id", "wallet_set_id")  # by id, or by client id in its wallet set
_MONEY_MOVE = ("exchange", "currency", "amount")

#: operation name -> its definition, in the order the docs present them.
OPERATIONS: dict[str, Operation] = {
    operation.name: operation
    for operation in (
        Operation(
            "echo",
            "read",
            "POST /echo",
            "Return the body as given: a round-trip check",
            dict[str, Any],
            any_params=True,
        ),
        Operation("get_status", "read", "GET /status", "Version, uptime, the exchanges and the database", Status),
        Operation(
            "get_exchanges",
            "read",
            "GET /exchanges",
            "Per exchange: trading mode, market-data status, pairs followed",
            dict[str, ExchangeState],
        ),
        Operation(
            "get_markets",
            "read",
            "GET /markets",
            "Precision rules of the markets",
            list[Market],
            _params("exchange", "pair"),
        ),
        Operation(
            "get_pricing",
            "read",
            "GET /pricing",
            "Bid, ask, mid and last trade of every followed pair",
            list[Pricing],
            _params("exchange"),
        ),
        Operation(
            "get_book",
            "read",
            "GET /book",
            "The top levels of a book, best first, with its state and age",
            Book,
            _params("exchange", "pair", "depth", required=("exchange", "pair")),
        ),
        Operation(
            "get_trades",
            "read",
            "GET /trades",
            "The latest public trades of a pair, newest first; with start, the stored ones from then, oldest first",
            list[Trade],
            _params("exchange", "pair", "limit", "start", "end", required=("exchange", "pair")),
        ),
        Operation(
            "get_ohlc",
            "read",
            "GET /ohlc",
            "OHLC candles from the stored market history, oldest first, paged",
            CandlePage,
            _params("exchange", "pair", "interval", "start", "end", "limit", required=("exchange", "pair")),
        ),
        Operation(
            "get_book_tops",
            "read",
            "GET /book_tops",
            "Best bid and ask with their sizes as sampled into the stored market history, oldest first, paged",
            BookTopPage,
            _params("exchange", "pair", "start", "end", "limit", required=("exchange", "pair", "start")),
        ),
        Operation(
            "advance_replay",
            "trade",
            "POST /replay/advance",
            "Play a stepped replay up to a recorded moment and hold there",
            ReplayState,
            _params("until", required=("until",)),
        ),
        Operation(
            "make_order",
            "trade",
            "POST /orders",
            "Place an order",
            Order,
            _params(*_ORDER, required=("wallet_set_id", "exchange", "pair", "side")),
        ),
        Operation(
            "get_orders",
            "read",
            "GET /orders",
            "Open or recent orders, newest first",
            OrderPage,
            _params("wallet_set_id", "exchange", "pair", "status", "limit", "before", "tag"),
        ),
        Operation(
            "cancel_all_orders",
            "trade",
            "POST /orders/cancel_all",
            "Cancel every open order matching the filters",
            Cancelled,
            _params("wallet_set_id", "exchange", "pair"),
        ),
        Operation(
            "get_order",
            "read",
            "GET /orders/{order_id}",
            "One order with its fills and events",
            OrderWithEvents,
            _params(*_ORDER_NAMED, rpc_only=_ORDER_NAMED[1:]),
        ),
        Operation(
            "cancel_order",
            "trade",
            "POST /orders/{order_id}/cancel",
            "Cancel an order",
            Order,
            _params(*_ORDER_NAMED, rpc_only=_ORDER_NAMED[1:]),
        ),
        Operation(
            "amend_order",
            "trade",
            "POST /orders/{order_id}/amend",
            "Change an open order's price or size",
            Order,
            _params(*_ORDER_NAMED, "price", "size", "strict", rpc_only=_ORDER_NAMED[1:]),
        ),
        Operation(
            "get_fills",
            "read",
            "GET /fills",
            "The fills of one order, or of a wallet set's recent orders",
            list[Fill],
            _params("order_id", "wallet_set_id", "limit", "tag"),
        ),
        Operation(
            "create_wallet_set",
            "trade",
            "POST /wallet_sets",
            "Create a wallet set",
            WalletSet,
            _params("name", "mode", "allocations", required=("name",)),
        ),
        Operation(
            "get_wallet_sets", "read", "GET /wallet_sets", "Every wallet set, without balances", list[WalletSetSummary]
        ),
        Operation(
            "get_wallet_set",
            "read",
            "GET /wallet_sets/{wallet_set_id}",
            "A wallet set with its wallets",
            WalletSet,
            _params("wallet_set_id", required=("wallet_set_id",)),
        ),
        Operation(
            "get_wallet",
            "read",
            "GET /wallet_sets/{wallet_set_id}/wallets",
            "One wallet: balance, hold, available",
            WalletOfSet,
            _params("wallet_set_id", "exchange", "currency", required=("wallet_set_id", "exchange", "currency")),
        ),
        Operation(
            "fund_wallet_set",
            "trade",
            "POST /wallet_sets/{wallet_set_id}/fund",
            "Add funds to a wallet set (virtual money to a paper set; to a live set, from the real account)",
            Funded,
            _params("wallet_set_id", *_MONEY_MOVE, required=("wallet_set_id", *_MONEY_MOVE)),
        ),
        Operation(
            "transfer",
            "trade",
            "POST /transfers",
            "Move available funds between two wallet sets of one mode",
            Transferred,
            _params(
                "from_wallet_set_id",
                "to_wallet_set_id",
                *_MONEY_MOVE,
                required=("from_wallet_set_id", "to_wallet_set_id", *_MONEY_MOVE),
            ),
        ),
        Operation(
            "get_pnl",
            "read",
            "GET /wallet_sets/{wallet_set_id}/pnl",
            "Realized and unrealized P&L and fees per pair (average cost), valued in a chosen currency",
            Pnl,
            (
                *_params("wallet_set_id", required=("wallet_set_id",)),
                dataclasses.replace(
                    PARAMETERS["currency"],
                    meaning="The currency to value in (through any chain of books)",
                    default="USD",
                ),
                *_params("exchange", "pair", "tag"),
            ),
        ),
        Operation(
            "get_wallet_history",
            "read",
            "GET /wallet_sets/{wallet_set_id}/history",
            "The wallet set's total value in USD as sampled every minute, the last sample of each interval, paged",
            WalletHistory,
            _params("wallet_set_id", "start", "end", "interval", "limit", required=("wallet_set_id",)),
        ),
        Operation(
            "withdraw",
            "trade",
            "POST /wallet_sets/{wallet_set_id}/withdraw",
            "Take available funds out of a wallet set (what open orders hold stays)",
            Withdrawn,
            _params("wallet_set_id", *_MONEY_MOVE, required=("wallet_set_id", *_MONEY_MOVE)),
        ),
        Operation(
            "close_wallet_set",
            "trade",
            "POST /wallet_sets/{wallet_set_id}/close",
            "Close a wallet set for good: cancel its open orders, return every balance; it stays readable",
            ClosedWalletSet,
            _params("wallet_set_id", required=("wallet_set_id",)),
        ),
        # -- what an owner reads of the ledger (issue 12) --
        Operation(
            "get_statement",
            "read",
            "GET /wallet_sets/{wallet_set_id}/statement",
            "A wallet set's ledger entries with the balances after each, newest first, paged",
            Statement,
            _params(
                "wallet_set_id", "start", "end", "currency", "kind", "limit", "cursor", required=("wallet_set_id",)
            ),
            csv="entries",
        ),
        Operation(
            "get_accounts",
            "read",
            "GET /accounts",
            "Per exchange: the real account as reconciled, allocated, held, unallocated; the paper sets' totals",
            list[AccountView],
            _params("exchange"),
        ),
        Operation(
            "get_alerts",
            "read",
            "GET /alerts",
            "The alerts firing now and the last cleared ones (docs/alerts.md)",
            Alerts,
        ),
    )
}

#: operation -> the scope a token needs to call it.
SCOPES: dict[str, str] = {name: operation.scope for name, operation in OPERATIONS.items()}
