"""Orders, their status history and their fills in the database, settled through the ledger.

An order row, its first event and its wallet hold are written in one transaction; so are a fill,
its ledger settlement, the order's new state and, when the order is done, the release of what
remains of its hold. Nothing is half-written. The wallet store's operations run inside these
transactions (as part of them, with no savepoint of their own: any error rolls the whole back), and
the statements are built once (:mod:`.sql`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, overload

from peewee import Database

from ..core.errors import Conflict, InvalidParameter, OrderNotFound
from ..core.ledger import FillTerms
from ..core.orders import Fill, Liquidity, Order, OrderEvent, OrderStatus, OrderType, Side, TimeInForce
from ..core.pairs import Pair
from . import models, sql
from .models import money_value, now_us
from .wallets import WalletBalance, WalletStore

OPEN_STATUSES = ("pending", "open", "partially_filled")


@overload
def to_us(seconds: float) -> int: ...
@overload
def to_us(seconds: None) -> None: ...
def to_us(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1_000_000))


@overload
def to_seconds(micros: int) -> float: ...
@overload
def to_seconds(micros: None) -> None: ...
def to_seconds(micros: int | None) -> float | None:
    return None if micros is None else micros / 1_000_000


class OrderStore:
    """Reads and writes orders; every write that moves money goes through ``wallets``.

    ``fence(exchange)``, in cluster mode, runs first in each transaction that changes an
    exchange's orders and raises if this node no longer holds that exchange's lease
    (:meth:`.leases.LeaseStore.check`): an old owner's late write is refused whole."""

    def __init__(
        self,
        db: Database,
        wallets: WalletStore,
        *,
        clock: Callable[[], int] = now_us,
        fence: Callable[[str], None] | None = None,
    ):
        self.db, self.wallets, self.clock = db, wallets, clock
        self.fence = fence or (lambda exchange: None)

    # -- writes -----------------------------------------------------------------------------------

    def create(
        self, order: Order, hold: tuple[str, Decimal] | None, mode: str, exchange_client_id: str | None = None
    ) -> Order:
        """Insert ``order`` (pending) with its first event and put ``hold`` (currency, amount) on its
        wallet set; sets ``order.id``. A live order comes with the client order id it will have on
        the exchange. Raises InsufficientFunds (nothing written) if the set cannot cover the hold,
        Conflict if the client order id is taken."""
        with self.wallets.transaction():
            self.fence(order.exchange)
            self.wallets.wallet_set(order.wallet_set_id)  # NotFound before anything is written
            created_at = to_us(order.created_at)
            order_id = _INSERT_ORDER(
                self.db,
                client_order_id=order.client_order_id,
                wallet_set=order.wallet_set_id,
                mode=mode,
                exchange=order.exchange,
                pair=order.pair,
                side=order.side.value,
                type=order.type.value,
                size=order.size,
                funds=order.funds,
                price=order.price,
                stop_price=order.stop_price,
                time_in_force=order.time_in_force.value,
                expire_time=to_us(order.expire_time),
                post_only=order.post_only,
                status=order.status.value,
                created_at=created_at,
                updated_at=created_at,
                exchange_client_id=exchange_client_id,
                tag=order.tag,
            )
            if order_id is None:
                raise Conflict(
                    f"client order id {order.client_order_id!r} is taken in wallet set {order.wallet_set_id}"
                )
            order.id = str(order_id)
            _INSERT_EVENT.defer(
                self.db, order=order_id, from_status=None, to_status=order.status.value, at=created_at, reason=""
            )
            if hold is not None:
                currency, amount = hold
                self.wallets.place_hold(order.wallet_set_id, order.exchange, currency, amount, order.id, new_order=True)
        return order

    def record(
        self, events: Iterable[OrderEvent], states: dict[str, Order], holds: dict[str, Decimal] | None = None
    ) -> dict[int, list[WalletBalance]]:
        """Persist what happened to some orders in one transaction: ``events`` (transitions, fills
        with their settlement) in the order they happened, and each order's state from ``states``,
        the orders as they stood right after the events (the service passes copies taken then, so
        that what is written, and announced after, is one consistent state however far the live
        orders have moved on). A finished order's hold is released; an open order in ``holds`` keeps
        holding that much and no more. Returns the balances of the orders' wallet sets as this
        transaction leaves them (as :meth:`WalletStore.balances` by wallet set id)."""
        if not states:
            return {}
        holds = holds or {}
        with self.wallets.transaction():
            for exchange in sorted({order.exchange for order in states.values()}):
                self.fence(exchange)
            for event in events:
                order = states[event.order_id]
                if event.fill is not None:
                    self._record_fill(order, event.fill)
                if event.fill is None or event.previous is not event.status:
                    _INSERT_EVENT.defer(
                        self.db,
                        order=int(order.id),
                        from_status=event.previous.value,
                        to_status=event.status.value,
                        at=to_us(event.at),
                        reason=event.reason,
                    )
            for order in states.values():
                self._save_state(order)
                if not order.is_open:
                    self.wallets.release_hold(order.wallet_set_id, order.id)
                elif order.id in holds:
                    self._release_beyond(order, holds[order.id])
            return {ws: self.wallets.balances(ws) for ws in sorted({o.wallet_set_id for o in states.values()})}

    def _release_beyond(self, order: Order, keep: Decimal) -> None:
        """Release what ``order`` holds beyond ``keep`` (a fill at a better price or a lower fee
        than held for, a smaller amended size): an open order holds what its rest needs, no more."""
        held = self.wallets.held(order.wallet_set_id, order.id)
        if held > keep:
            self.wallets.release_hold(order.wallet_set_id, order.id, held - keep)

    def hold_at_least(self, order: Order, currency: str, amount: Decimal) -> None:
        """Raise ``order``'s hold to ``amount`` of ``currency`` where it holds less (an amend that
        needs more): InsufficientFunds, and nothing written, if its wallet set cannot cover it."""
        with self.wallets.transaction():
            self.fence(order.exchange)
            held = self.wallets.held(order.wallet_set_id, order.id)
            if amount > held:
                self.wallets.place_hold(order.wallet_set_id, order.exchange, currency, amount - held, order.id)

    def set_exchange_client_id(self, order_id: str, client_id: str) -> None:
        """A live order's client order id on the exchange changed (it was cancel-replaced)."""
        models.Order.update(exchange_client_id=client_id).where(models.Order.id == _order_key(order_id)).execute()

    def exchange_client_ids(self, order_ids: Iterable[str]) -> dict[str, str | None]:
        """The client order ids the orders have on their exchange (None for paper orders)."""
        keys = [_order_key(i) for i in order_ids]
        if not keys:
            return {}
        query = models.Order.select(models.Order.id, models.Order.exchange_client_id).where(models.Order.id.in_(keys))
        return {str(row.id): row.exchange_client_id for row in query}

    def _record_fill(self, order: Order, fill: Fill) -> None:
        _INSERT_FILL.defer(
            self.db,
            order=int(order.id),
            trade_id=fill.trade_id,
            price=fill.price,
            size=fill.size,
            fee=fill.fee,
            fee_currency=fill.fee_currency,
            liquidity=fill.liquidity.value,
            at=to_us(fill.at),
            cause=json.dumps(fill.to_json()["cause"]),
            tag=order.tag,
        )
        terms = FillTerms.parse(
            Pair.parse(order.pair), order.side.value, fill.price, fill.size, fill.fee, fill.fee_currency
        )
        self.wallets.settle_fill(order.wallet_set_id, order.exchange, order.id, terms, f"{order.id}/{fill.trade_id}")

    def _save_state(self, order: Order) -> None:
        _SAVE_STATE(
            self.db,
            int(order.id),
            order.status.value,
            order.size,
            order.price,
            order.triggered,
            order.filled_size,
            order.executed_value,
            order.fees,
            order.reason or None,
            order.exchange_order_id,
            to_us(order.updated_at),
        )

    # -- reads ------------------------------------------------------------------------------------

    def get(self, order_id: object) -> Order:
        return self.view(order_id)[0]

    def view(self, order_id: object) -> tuple[Order, list[Fill]]:
        """The order as stored and its fills, oldest first: one committed state (the writes that
        would change it run on the same thread, so none lands between the two reads)."""
        row = models.Order.get_or_none(models.Order.id == _order_key(order_id))
        if row is None:
            raise OrderNotFound(order_id)
        fills = self.fills([str(row.id)])[str(row.id)]
        return _order(row, fills), fills

    def by_client_order_id(self, wallet_set_id: int, client_order_id: str) -> tuple[Order, list[Fill]] | None:
        """The order the wallet set made with ``client_order_id``, with its fills (as :meth:`view`)."""
        order_id = self.order_id_of(wallet_set_id, client_order_id)
        return None if order_id is None else self.view(order_id)

    def order_id_of(self, wallet_set_id: int, client_order_id: str) -> str | None:
        found = sql.rows(self.db, _BY_CLIENT_ORDER_ID, (wallet_set_id, client_order_id))
        return str(found[0][0]) if found else None

    def find(
        self,
        *,
        wallet_set_id: int | None = None,
        exchange: str | None = None,
        pair: str | None = None,
        open_only: bool = False,
        mode: str | None = None,
        tag: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[Order]:
        """Newest first; ``before`` (an order id) pages backwards; ``tag``: of that run only."""
        query = models.Order.select()
        if wallet_set_id is not None:
            query = query.where(models.Order.wallet_set == wallet_set_id)
        if exchange is not None:
            query = query.where(models.Order.exchange == exchange)
        if pair is not None:
            query = query.where(models.Order.pair == pair)
        if open_only:
            query = query.where(models.Order.status.in_(OPEN_STATUSES))
        if mode is not None:
            query = query.where(models.Order.mode == mode)
        if tag is not None:
            query = query.where(models.Order.tag == tag)
        if before is not None:
            query = query.where(models.Order.id < before)
        return self._load(query.order_by(models.Order.id.desc()).limit(limit))

    def fills(self, order_ids: Iterable[str]) -> dict[str, list[Fill]]:
        keys = [_order_key(i) for i in order_ids]
        out: dict[str, list[Fill]] = {str(k): [] for k in keys}
        for start in range(0, len(keys), _FILLS_CHUNK):
            chunk = keys[start : start + _FILLS_CHUNK]
            template = _FILLS + (f"IN ({', '.join('?' * len(chunk))})" if len(chunk) > 1 else "= ?") + " ORDER BY id"
            for order_id, trade_id, price, size, fee, fee_currency, liquidity, at, cause in sql.rows(
                self.db, template, chunk
            ):
                out[str(order_id)].append(
                    Fill(
                        str(order_id),
                        trade_id,
                        money_value(price),
                        money_value(size),
                        money_value(fee),
                        fee_currency,
                        Liquidity(liquidity),
                        to_seconds(at),
                        json.loads(cause),
                    )
                )
        return out

    def events(self, order_id: object) -> list[dict[str, Any]]:
        query = models.OrderEvent.select().where(models.OrderEvent.order == _order_key(order_id))
        return [
            {"from": e.from_status, "to": e.to_status, "time": to_seconds(e.at), "reason": e.reason}
            for e in query.order_by(models.OrderEvent.id)
        ]

    def _load(self, rows: Iterable[models.Order]) -> list[Order]:
        rows = list(rows)
        fills = self.fills(str(r.id) for r in rows)
        return [_order(row, fills[str(row.id)]) for row in rows]


def _order_key(order_id: object) -> int:
    if isinstance(order_id, bool):
        raise InvalidParameter("order_id", "an order id", order_id)
    try:
        key = int(str(order_id))
    except ValueError:
        raise InvalidParameter("order_id", "an order id", order_id) from None
    if not 0 < key < 2**63:  # the database's keys are signed 64-bit
        raise InvalidParameter("order_id", "an order id", order_id)
    return key


def _order(row: models.Order, fills: list[Fill]) -> Order:
    order = Order(
        id=str(row.id),
        client_order_id=row.client_order_id,
        wallet_set_id=row.wallet_set_id,
        exchange=row.exchange,
        pair=row.pair,
        side=Side(row.side),
        type=OrderType(row.type),
        size=row.size,
        price=row.price,
        stop_price=row.stop_price,
        funds=row.funds,
        time_in_force=TimeInForce(row.time_in_force),
        expire_time=to_seconds(row.expire_time),
        post_only=row.post_only,
        status=OrderStatus(row.status),
        filled_size=row.filled_size,
        executed_value=row.executed_value,
        fees=row.fees,
        created_at=to_seconds(row.created_at),
        updated_at=to_seconds(row.updated_at),
        reason=row.reject_reason or "",
        triggered=row.triggered,
        exchange_order_id=row.exchange_order_id,
        tag=row.tag,
    )
    order.fill_ids = {f.trade_id for f in fills}
    return order


_INSERT_ORDER = sql.Insert(models.Order, ignore_conflicts=True)  # None: the client order id is taken
_INSERT_EVENT = sql.Insert(models.OrderEvent)
_INSERT_FILL = sql.Insert(models.Fill)
_SAVE_STATE = sql.Update(
    models.Order,
    (
        "status",
        "size",
        "price",
        "triggered",
        "filled_size",
        "executed_value",
        "fees",
        "reject_reason",
        "exchange_order_id",
        "updated_at",
    ),
)
_BY_CLIENT_ORDER_ID = 'SELECT id FROM "orders" WHERE wallet_set_id = ? AND client_order_id = ?'
_FILLS = 'SELECT order_id, trade_id, price, size, fee, fee_currency, liquidity, at, cause FROM "fill" WHERE order_id '
_FILLS_CHUNK = 500  # order ids per statement (SQLite limits the parameters of one)
