"""The exchange core: accounts, API keys, order and trade records around one ``SimVenue``.

Synchronous and single-threaded: the ASGI app calls it from its one event loop, so no locks.
Matching, fees, GTD expiry and settlement stay in ``venues/sim``; this module only translates
between accounts and the venue's single-owner view.  Every client order is "ours" to the
simulator (its id is the order's EIP-712 hash), and ``owner_of`` maps it back to an account, so
two accounts trading with each other is a self-trade to the simulator and a trade here.

Outputs for the WebSocket channels are queued on ``user_out`` (owners, market, payload) and
``market_out`` (asset id, payload) and drained by the app after every call.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from polytraders.exchange.accounts import Ledger
from polytraders.exchange.auth import KeyRegistry
from polytraders.exchange.clock import ExchangeClock
from polytraders.exchange.config import ExchangeConfig
from polytraders.exchange.errors import ApiError
from polytraders.exchange.events import apply_events, reserve
from polytraders.exchange.records import OrderRecord, TradeRecord, tx_hash
from polytraders.exchange.validate import CheckedOrder, refusal
from polytraders.venues.base import (
    EXECUTION_ERROR,
    INVALID_ORDER_DUPLICATED,
    INVALID_ORDER_ERROR,
    INVALID_ORDER_NOT_ENOUGH_BALANCE,
    BookView,
    MarketInfo,
    VenueError,
    VenueEvent,
    VenueOrder,
    decimal_text,
)
from polytraders.venues.sim.faults import (
    FaultPlan,
    FaultSpec,
    HaltMarket,
    ResolveMarket,
    SettlementFault,
    SettlementOutcome,
)
from polytraders.venues.sim.venue import SimVenue

_ZERO: Final = Decimal(0)
FINE_TICK: Final = Decimal("0.001")
COARSE_TICK: Final = Decimal("0.01")
TICK_HIGH: Final = Decimal("0.96")
TICK_LOW: Final = Decimal("0.04")
HISTORY_LIMIT: Final = 100_000  # seconds with a print kept per token
REJECT_MESSAGES: Final = {
    "INVALID_POST_ONLY_ORDER": "invalid post-only order: order crosses book",
    "FOK_ORDER_NOT_FILLED_ERROR": "order couldn't be fully filled. FOK orders are fully filled or killed.",
    "INVALID_ORDER_MIN_SIZE": "order is invalid. Size lower than the minimum",
    "INVALID_ORDER_MIN_TICK_SIZE": "order is invalid. Price breaks minimum tick size rule",
    "INVALID_ORDER_EXPIRATION": "invalid expiration",
    "MARKET_NOT_READY": "the market is not yet ready to process new orders",
    "INVALID_ORDER_ERROR": "Invalid order payload",
}
FAK_NO_MATCH: Final = ("no orders found to match with FAK order. FAK orders are partially filled or killed if no "
                       "match is found.")


@dataclass(slots=True)
class Delayed:
    due_ms: int
    order: CheckedOrder


class Exchange:
    """See the module docstring."""

    def __init__(self, cfg: ExchangeConfig, clock: ExchangeClock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.venue = SimVenue(cfg.seed, cfg.markets, clock.now_ms(), step_ms=cfg.step_ms, background=cfg.background)
        self.keys = KeyRegistry(cfg.server_secret, cfg.chain_id, cfg.auth_window_s)
        self.ledger = Ledger(cfg.starting_balance)
        self.orders: dict[str, OrderRecord] = {}
        self.live: dict[str, OrderRecord] = {}
        self.trades: dict[str, TradeRecord] = {}
        self.trades_by_address: dict[str, list[str]] = defaultdict(list)
        self.reserved_collateral: dict[str, Decimal] = defaultdict(lambda: _ZERO)
        self.reserved_shares: dict[tuple[str, str], Decimal] = defaultdict(lambda: _ZERO)
        self.heartbeats: dict[str, tuple[str, int]] = {}
        self._hb_seq = 0
        self.delayed: list[Delayed] = []
        self.user_out: list[tuple[frozenset[str], str, dict[str, Any]]] = []
        self.market_out: list[tuple[str, dict[str, Any]]] = []
        self.last_trade: dict[str, tuple[Decimal, str, Decimal, int]] = {}
        self.history: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)  # (unix s, price) per token
        self.frozen: dict[str, tuple[BookView, int | None]] = {}
        self.winners: dict[str, str] = {}
        self.funders: dict[str, str] = {}  # proxy funder (lower-case) -> the signer that owns it
        self._sim_specs: list[FaultSpec] = []
        self._tape_seen = 0
        self.pending: dict[str, CheckedOrder] = {}
        self.infos: dict[str, MarketInfo] = {}
        self.by_cid: dict[str, MarketInfo] = {}
        self.base_tick: dict[str, Decimal] = {}
        for info in self.venue.markets():
            self.by_cid[info.condition_id] = info
            for token in (info.yes_token, info.no_token):
                self.infos[token] = info
                self.base_tick[token] = info.tick

    # -- markets -----------------------------------------------------------------------------
    def refresh_markets(self) -> None:
        for info in self.venue.markets():
            self.by_cid[info.condition_id] = info
            self.infos[info.yes_token] = info
            self.infos[info.no_token] = info

    def market_of(self, token_id: str) -> MarketInfo | None:
        return self.infos.get(token_id)

    def tick_of(self, token_id: str) -> Decimal:
        return self.venue.book_tick(token_id)

    def outcome_of(self, token_id: str) -> str:
        info = self.infos[token_id]
        return "Yes" if token_id == info.yes_token else "No"

    def book_view(self, token_id: str) -> BookView | None:
        frozen = self.frozen.get(token_id)
        if frozen is not None:
            view, until = frozen
            if until is None or self.clock.now_ms() < until:
                return view
            del self.frozen[token_id]
        return self.venue.book(token_id)

    def freeze(self, token_ids: list[str], until_ms: int | None) -> None:
        for token in token_ids:
            view = self.venue.book(token)
            if view is not None:
                self.frozen[token] = (view, until_ms)

    def _add_sim_fault(self, spec: FaultSpec) -> None:
        self._sim_specs.append(spec)
        self.venue.set_faults(FaultPlan(tuple(self._sim_specs)))
        self.step()

    def resolve(self, condition_id: str, winner: str) -> None:
        """Resolve a market: resting orders are cancelled (CANCELED_MARKET_RESOLVED), holders paid."""
        info = self.by_cid[condition_id]
        self.winners[condition_id] = winner
        self._add_sim_fault(ResolveMarket(condition_id, at_ms=self.clock.now_ms()))
        for token in (info.yes_token, info.no_token):
            self.ledger.resolve(token, Decimal(1) if token == winner else _ZERO)
            self.market_out.append((token, {
                "event_type": "market_resolved", "market": condition_id, "asset_id": token,
                "winning_asset_id": winner, "winning_outcome": self.outcome_of(winner),
                "timestamp": str(self.clock.now_ms())}))

    def halt(self, condition_id: str, until_ms: int | None) -> None:
        self._add_sim_fault(HaltMarket(condition_id, start_ms=self.clock.now_ms(), end_ms=until_ms))

    # -- orders ------------------------------------------------------------------------------
    def _check_balance(self, c: CheckedOrder) -> None:
        acct = self.ledger.account(c.maker)
        if c.side == "BUY":
            need = c.collateral if c.marketable_type else c.price * c.size
            free = min(acct.collateral, acct.allowance) - self.reserved_collateral[acct.address]
        else:
            need = c.size
            free = acct.shares[c.token_id] - self.reserved_shares[(acct.address, c.token_id)]
        if need > free:
            raise refusal(INVALID_ORDER_NOT_ENOUGH_BALANCE, "not enough balance / allowance", c.order_id)

    def _check_funder(self, c: CheckedOrder) -> None:
        """A proxy/Safe funder belongs to the first signer that trades for it (on chain the proxy
        is derived from its owner), and an EOA that holds API keys is nobody's proxy."""
        maker, signer = c.maker.lower(), c.signer.lower()
        if maker == signer:
            return
        owner = self.funders.setdefault(maker, signer)
        if owner != signer or self.keys.has_address(maker):
            raise refusal(INVALID_ORDER_ERROR, "maker address not allowed, please use the deposit wallet flow",
                          c.order_id)

    def _check_fak(self, c: CheckedOrder) -> None:
        if c.order_type == "FAK" and not self.venue.crosses(c.token_id, c.side, c.price):
            raise refusal(EXECUTION_ERROR, FAK_NO_MATCH, c.order_id)

    def submit(self, c: CheckedOrder) -> dict[str, Any]:
        """Place a checked order; the SendOrderResponse body, or ``ApiError``."""
        if c.order_id in self.orders or c.order_id in self.pending:
            raise refusal(INVALID_ORDER_DUPLICATED, f"order {c.order_id} is invalid. Duplicated.", c.order_id)
        self._check_funder(c)
        self._check_balance(c)
        self._check_fak(c)
        crosses = self.venue.crosses(c.token_id, c.side, c.price)
        info = self.infos[c.token_id]
        if crosses and not c.post_only and self.cfg.taker_delay_ms > 0 and info.cluster == "sports":
            # Sports markets hold marketable orders (the CLOB's taker delay): the order is placed,
            # visible as DELAYED and not cancellable, and its balance is held until it runs.
            now = self.clock.now_ms()
            rec = self.record(c, now, status="DELAYED")
            self.orders[c.order_id] = rec
            reserve(self, rec, rec.original_size)
            self.delayed.append(Delayed(now + self.cfg.taker_delay_ms, c))
            self.user_out.append((frozenset({rec.owner}), rec.market, rec.event("PLACEMENT", now)))
            return {"success": True, "errorMsg": "", "orderID": c.order_id, "status": "delayed",
                    "makingAmount": "0", "takingAmount": "0", "transactionsHashes": [], "tradeIDs": []}
        rec = self._execute(c)
        return self._response(rec)

    def _execute(self, c: CheckedOrder) -> OrderRecord:
        now = self.clock.now_ms()
        self.pending[c.order_id] = c
        order = VenueOrder(
            client_order_id=c.order_id, token_id=c.token_id, side=c.side, price=c.price, size=c.size,
            order_type=c.order_type, post_only=c.post_only,
            expires_at_ms=c.expiration * 1000 if c.order_type == "GTD" else None,
            order_hash=c.order_id, maker_amount=c.maker_amount, taker_amount=c.taker_amount,
        )
        try:
            events = self.venue.submit(order, now)
        except VenueError as exc:
            self.pending.pop(c.order_id, None)
            raise ApiError(exc.status, exc.message or exc.code) from None
        for ev in events:
            if ev.kind == "reject" and ev.venue_order_id in ("", c.order_id):
                self.pending.pop(c.order_id, None)
                code = ev.error_code or "INVALID_ORDER_ERROR"
                raise refusal(code, REJECT_MESSAGES.get(code, code), c.order_id)
        self.apply(events)
        self._after_book_change(c.token_id)
        return self.orders[c.order_id]

    def record(self, c: CheckedOrder, now_ms: int, status: str = "LIVE") -> OrderRecord:
        info = self.infos[c.token_id]
        return OrderRecord(
            id=c.order_id, owner=c.owner, maker=c.maker, market=info.condition_id, asset_id=c.token_id,
            side=c.side, price=c.price, original_size=c.size, outcome=self.outcome_of(c.token_id),
            expiration=c.expiration, order_type=c.order_type, created_ms=now_ms, status=status,
        )

    def _response(self, rec: OrderRecord) -> dict[str, Any]:
        filled = [self.trades[t] for t in rec.trades]
        notional = sum((t.price * self._fill_size(t, rec.id) for t in filled), _ZERO)
        shares = rec.size_matched
        making, taking = (notional, shares) if rec.side == "BUY" else (shares, notional)
        return {
            "success": True, "errorMsg": "", "orderID": rec.id,
            "status": "matched" if shares > 0 else "live",
            "makingAmount": decimal_text(making), "takingAmount": decimal_text(taking),
            "transactionsHashes": [tx_hash(t.id) for t in filled], "tradeIDs": [t.id for t in filled],
        }

    @staticmethod
    def _fill_size(trade: TradeRecord, order_id: str) -> Decimal:
        for maker in trade.maker_orders:
            if maker["order_id"] == order_id:
                return Decimal(str(maker["matched_amount"]))
        return trade.size

    def run_delayed(self, now_ms: int) -> None:
        due = [d for d in self.delayed if d.due_ms <= now_ms]
        if not due:
            return
        self.delayed = [d for d in self.delayed if d.due_ms > now_ms]
        for d in due:
            held = self.orders.pop(d.order.order_id)
            reserve(self, held, held.original_size, -1)
            try:
                self._check_balance(d.order)  # re-validated after the delay, as the CLOB does
                self._check_fak(d.order)
                self._execute(d.order)
            except ApiError:
                # Placed, but nothing could match after the delay: it ends UNMATCHED.
                held.status = "UNMATCHED"
                self.orders[held.id] = held
                self.user_out.append((frozenset({held.owner}), held.market, held.event("CANCELLATION", now_ms)))

    # -- cancels -----------------------------------------------------------------------------
    def cancel(self, owner: str, order_ids: list[str]) -> dict[str, Any]:
        now = self.clock.now_ms()
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for order_id in dict.fromkeys(order_ids):
            rec = self.orders.get(order_id)
            if rec is None or rec.owner != owner:
                not_canceled[order_id] = "Order not found or already canceled"
            elif rec.status == "DELAYED":
                not_canceled[order_id] = "Order is delayed and cannot be canceled yet"
            elif rec.status != "LIVE":
                matched = rec.status == "MATCHED"
                not_canceled[order_id] = "Order already matched" if matched else "Order already canceled"
            else:
                self.apply(self.venue.cancel(order_id, now))
                self._after_book_change(rec.asset_id)
                canceled.append(order_id)
        return {"canceled": canceled, "not_canceled": not_canceled}

    def live_ids(self, owner: str, market: str = "", asset_id: str = "") -> list[str]:
        return [r.id for r in self.live.values() if r.owner == owner and (not market or r.market == market)
                and (not asset_id or r.asset_id == asset_id)]

    # -- heartbeats --------------------------------------------------------------------------
    def heartbeat(self, owner: str, heartbeat_id: str) -> dict[str, Any]:
        current = self.heartbeats.get(owner)
        if current is not None and heartbeat_id != current[0]:
            raise ApiError(400, "Invalid Heartbeat ID", extra={"heartbeat_id": current[0]})
        self._hb_seq += 1
        new_id = hmac.new(self.cfg.server_secret, f"hb/{owner}/{self._hb_seq}".encode(), hashlib.sha256).hexdigest()
        new_id = f"{new_id[:8]}-{new_id[8:12]}-{new_id[12:16]}-{new_id[16:20]}-{new_id[20:32]}"
        self.heartbeats[owner] = (new_id, self.clock.now_ms())
        return {"heartbeat_id": new_id, "error": None}

    def _dead_man(self, now_ms: int) -> None:
        limit = self.cfg.heartbeat_timeout_ms + self.cfg.heartbeat_buffer_ms
        for owner, (_, last) in list(self.heartbeats.items()):
            if now_ms - last >= limit:
                del self.heartbeats[owner]
                self.cancel(owner, self.live_ids(owner))

    # -- time --------------------------------------------------------------------------------
    def step(self) -> None:
        """Run the world up to the clock: delayed takers, the venue, heartbeats, ticks, prints."""
        now = self.clock.now_ms()
        self.run_delayed(now)
        events = self.venue.advance(now)
        if events:
            self.apply(events)
        self.refresh_markets()  # halts end and resolutions land with time, with or without events
        self._dead_man(now)
        for token in self.infos:
            self._check_tick(token)
        self._read_tape()

    def _after_book_change(self, token_id: str) -> None:
        self._check_tick(token_id)
        self._read_tape()

    def _check_tick(self, token_id: str) -> None:
        view = self.venue.book(token_id)
        if view is None or view.best_bid is None or view.best_ask is None:
            return
        mid = (view.best_bid + view.best_ask) / 2
        base = self.base_tick[token_id]
        target = FINE_TICK if base == COARSE_TICK and (mid > TICK_HIGH or mid < TICK_LOW) else base
        old = self.venue.book_tick(token_id)
        if target != old:
            self.venue.set_book_tick(token_id, target)
            self.market_out.append((token_id, {
                "event_type": "tick_size_change", "asset_id": token_id, "market": self.infos[token_id].condition_id,
                "old_tick_size": decimal_text(old), "new_tick_size": decimal_text(target),
                "timestamp": str(self.clock.now_ms()),
            }))

    def _read_tape(self) -> None:
        new = self.venue.tape_total - self._tape_seen
        if new <= 0:
            return
        self._tape_seen = self.venue.tape_total
        for ts_ms, fill in list(self.venue.tape)[-new:]:
            self.last_trade[fill.token_id] = (fill.price, fill.taker_side, fill.size, ts_ms)
            prints = self.history[fill.token_id]
            if prints and prints[-1][0] == ts_ms // 1000:
                prints[-1] = (ts_ms // 1000, fill.price)  # one print per second: the last one
            else:
                prints.append((ts_ms // 1000, fill.price))
                if len(prints) > HISTORY_LIMIT:
                    del prints[: len(prints) - HISTORY_LIMIT]
            self.market_out.append((fill.token_id, {
                "event_type": "last_trade_price", "asset_id": fill.token_id,
                "market": self.infos[fill.token_id].condition_id, "price": decimal_text(fill.price),
                "side": fill.taker_side, "size": decimal_text(fill.size),
                "fee_rate_bps": str(self.venue.taker_fee_bps), "timestamp": str(ts_ms),
            }))

    # -- venue events ------------------------------------------------------------------------
    def apply(self, events: list[VenueEvent]) -> None:
        """Fold venue events into records, balances and WebSocket messages (see ``events``)."""
        apply_events(self, events)

    def fail_settlement(self, count: int | None, recover: bool) -> None:
        """The next ``count`` fills settle RETRYING -> FAILED (or recover to CONFIRMED)."""
        outcome: SettlementOutcome = "RECOVERED" if recover else "FAILED"
        self._add_sim_fault(SettlementFault(outcome, count, start_ms=self.clock.now_ms()))
