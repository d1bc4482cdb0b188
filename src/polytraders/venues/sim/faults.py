"""Fault injection for the simulated venue.

What: ``FaultPlan`` is an immutable list of fault specifications that tests and scenarios build
with chained methods, e.g.::

    plan = (FaultPlan()
            .reject_submits(INVALID_ORDER_NOT_ENOUGH_BALANCE, count=2)
            .transport_errors("submit", 429, start_ms=t0, end_ms=t0 + 5_000)
            .latency(750, start_ms=t1, end_ms=t2)
            .freeze_feed(condition_id, start_ms=t3, end_ms=t4)
            .fail_settlement(count=1))

``FaultState`` is the venue-side runtime view of a plan: it answers "is this fault active now
for this market?" and keeps the consumption counters of count-limited faults, so one plan
object can be shared by several venues without them influencing each other (determinism).

Why: the OLM, the API-degradation monitor and the kill switch must be exercised against the
failures the real CLOB produces (polymarket-interfaces.md §1.7-1.9, §6): business rejects,
429/425/503 transport errors, slow acks, silent or stalled market data, halted and resolved
markets, and trades that settle ``FAILED`` after being reported ``MATCHED``.

Windows are ``[start_ms, end_ms)``; ``end_ms=None`` means "until the end of the run".
A ``market`` selector is ``None`` (every market), a condition id (both tokens) or a token id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from polytraders.venues.base import TradeStatus, VenueError

TransportOp = Literal["submit", "cancel"]
FeedMode = Literal["drop", "freeze"]
SettlementOutcome = Literal["FAILED", "RECOVERED"]

TRANSPORT_STATUSES: Final[dict[int, str]] = {
    400: "INVALID_ORDER_PAYLOAD",
    425: "ENGINE_RESTARTING",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "TRADING_DISABLED",
}
"""Allowed ``VenueError`` statuses and the default code used for each."""

POST_ONLY_MODE_CODE: Final = "post_only_mode"
"""The CLOB's own code for its post-restart 503 (only post-only orders and cancels pass)."""


def _in_window(t: int, start_ms: int, end_ms: int | None) -> bool:
    return start_ms <= t and (end_ms is None or t < end_ms)


def _selects(market: str | None, token_id: str, condition_id: str) -> bool:
    return market is None or market in (token_id, condition_id)


@dataclass(frozen=True, slots=True)
class RejectSubmits:
    """Accepted-at-transport submits come back as ``reject`` events with ``code``."""

    code: str
    count: int | None = None
    start_ms: int = 0
    end_ms: int | None = None
    market: str | None = None


@dataclass(frozen=True, slots=True)
class TransportFault:
    """Submits or cancels (incl. cancel-all) raise ``VenueError(status, code)``."""

    op: TransportOp
    status: int
    code: str
    count: int | None = None
    start_ms: int = 0
    end_ms: int | None = None
    market: str | None = None
    spare_post_only: bool = False


@dataclass(frozen=True, slots=True)
class Latency:
    """Events produced in the window are delivered ``delay_ms`` later, by ``advance``."""

    delay_ms: int
    start_ms: int = 0
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class FeedFault:
    """``drop``: ``book()`` returns None.  ``freeze``: ``book()`` repeats the snapshot taken at
    the window start, old ``ts_ms`` included."""

    mode: FeedMode
    market: str
    start_ms: int = 0
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class HaltMarket:
    """Market status ``halted``: submits rejected ``MARKET_NOT_READY``, book frozen, no
    background flow; cancels still work."""

    condition_id: str
    start_ms: int = 0
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ResolveMarket:
    """From ``at_ms`` the market is ``resolved``: our resting orders are cancelled, the book is
    gone (``book()`` returns None) and submits are rejected ``MARKET_NOT_READY``."""

    condition_id: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class SettlementFault:
    """Fills matched in the window settle MATCHED -> RETRYING -> FAILED (or, with
    ``RECOVERED``, MATCHED -> RETRYING -> MINED -> CONFIRMED)."""

    outcome: SettlementOutcome = "FAILED"
    count: int | None = 1
    start_ms: int = 0
    end_ms: int | None = None
    market: str | None = None


@dataclass(frozen=True, slots=True)
class PriceShock:
    """At ``at_ms`` the YES fair value of the selected market(s) jumps by ``delta`` (probability
    points, e.g. -0.2) and its long-run mean moves with it: a regime change, not a blip."""

    at_ms: int
    delta: float
    market: str | None = None


FaultSpec = (
    PriceShock
    | RejectSubmits
    | TransportFault
    | Latency
    | FeedFault
    | HaltMarket
    | ResolveMarket
    | SettlementFault
)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """An immutable, chainable collection of fault specs (each method returns a new plan)."""

    specs: tuple[FaultSpec, ...] = ()

    def add(self, spec: FaultSpec) -> FaultPlan:
        return FaultPlan((*self.specs, spec))

    def reject_submits(
        self,
        code: str,
        *,
        count: int | None = None,
        start_ms: int = 0,
        end_ms: int | None = None,
        market: str | None = None,
    ) -> FaultPlan:
        """Reject the next ``count`` submits (all, if None) in the window with ``code``."""
        return self.add(RejectSubmits(code, count, start_ms, end_ms, market))

    def transport_errors(
        self,
        op: TransportOp,
        status: int,
        *,
        code: str | None = None,
        count: int | None = None,
        start_ms: int = 0,
        end_ms: int | None = None,
        market: str | None = None,
    ) -> FaultPlan:
        """Raise ``VenueError(status)`` for the next ``count`` (or all) ``op`` calls in the
        window.  ``op="cancel"`` covers ``cancel`` and ``cancel_all``."""
        if status not in TRANSPORT_STATUSES:
            raise ValueError(f"unsupported transport status {status}")
        return self.add(
            TransportFault(
                op, status, code or TRANSPORT_STATUSES[status], count, start_ms, end_ms, market
            )
        )

    def post_only_mode(self, *, start_ms: int, end_ms: int | None) -> FaultPlan:
        """The CLOB's post-restart window: non-post-only submits raise 503 ``post_only_mode``."""
        return self.add(
            TransportFault("submit", 503, POST_ONLY_MODE_CODE, None, start_ms, end_ms, None, True)
        )

    def latency(self, delay_ms: int, *, start_ms: int = 0, end_ms: int | None = None) -> FaultPlan:
        if delay_ms < 0:
            raise ValueError("delay_ms must be >= 0")
        return self.add(Latency(delay_ms, start_ms, end_ms))

    def drop_feed(self, market: str, *, start_ms: int = 0, end_ms: int | None = None) -> FaultPlan:
        return self.add(FeedFault("drop", market, start_ms, end_ms))

    def freeze_feed(
        self, market: str, *, start_ms: int = 0, end_ms: int | None = None
    ) -> FaultPlan:
        return self.add(FeedFault("freeze", market, start_ms, end_ms))

    def halt(self, condition_id: str, *, start_ms: int = 0, end_ms: int | None = None) -> FaultPlan:
        return self.add(HaltMarket(condition_id, start_ms, end_ms))

    def resolve(self, condition_id: str, *, at_ms: int) -> FaultPlan:
        return self.add(ResolveMarket(condition_id, at_ms))

    def price_shock(self, delta: float, *, at_ms: int, market: str | None = None) -> FaultPlan:
        return self.add(PriceShock(at_ms, delta, market))

    def fail_settlement(
        self,
        *,
        count: int | None = 1,
        start_ms: int = 0,
        end_ms: int | None = None,
        market: str | None = None,
        recover: bool = False,
    ) -> FaultPlan:
        """The next ``count`` of our fills (all, if None) in the window fail settlement."""
        outcome: SettlementOutcome = "RECOVERED" if recover else "FAILED"
        return self.add(SettlementFault(outcome, count, start_ms, end_ms, market))


_NORMAL_PATH: Final[tuple[TradeStatus, ...]] = ("MINED", "CONFIRMED")
_FAILED_PATH: Final[tuple[TradeStatus, ...]] = ("RETRYING", "FAILED")
_RECOVERED_PATH: Final[tuple[TradeStatus, ...]] = ("RETRYING", "MINED", "CONFIRMED")


class FaultState:
    """A plan plus the per-venue counters of its count-limited specs."""

    def __init__(self, plan: FaultPlan | None) -> None:
        self.plan = plan or FaultPlan()
        self._used: list[int] = [0] * len(self.plan.specs)
        self._halts: dict[str, list[HaltMarket]] = {}
        self._resolve_at: dict[str, int] = {}
        for spec in self.plan.specs:
            if isinstance(spec, HaltMarket):
                self._halts.setdefault(spec.condition_id, []).append(spec)
            elif isinstance(spec, ResolveMarket):
                prev = self._resolve_at.get(spec.condition_id)
                self._resolve_at[spec.condition_id] = (
                    spec.at_ms if prev is None else min(prev, spec.at_ms)
                )
        # Whether any market's status can ever leave "open" under this plan.
        self.moves_status = bool(self._halts or self._resolve_at)
        self.feed_faults = any(isinstance(spec, FeedFault) for spec in self.plan.specs)

    def _take(self, index: int, count: int | None) -> bool:
        """Consume one use of a count-limited spec; False when it is exhausted."""
        if count is None:
            return True
        if self._used[index] >= count:
            return False
        self._used[index] += 1
        return True

    # -------------------------------------------------------------- request faults
    def transport_error(
        self, op: TransportOp, now_ms: int, token_id: str, condition_id: str, post_only: bool
    ) -> VenueError | None:
        for i, spec in enumerate(self.plan.specs):
            if (
                isinstance(spec, TransportFault)
                and spec.op == op
                and _in_window(now_ms, spec.start_ms, spec.end_ms)
                and _selects(spec.market, token_id, condition_id)
                and not (spec.spare_post_only and post_only)
                and self._take(i, spec.count)
            ):
                return VenueError(spec.status, spec.code, "injected fault")
        return None

    def injected_reject(self, now_ms: int, token_id: str, condition_id: str) -> str | None:
        for i, spec in enumerate(self.plan.specs):
            if (
                isinstance(spec, RejectSubmits)
                and _in_window(now_ms, spec.start_ms, spec.end_ms)
                and _selects(spec.market, token_id, condition_id)
                and self._take(i, spec.count)
            ):
                return spec.code
        return None

    def latency_ms(self, now_ms: int) -> int:
        delay = 0
        for spec in self.plan.specs:
            if isinstance(spec, Latency) and _in_window(now_ms, spec.start_ms, spec.end_ms):
                delay = max(delay, spec.delay_ms)
        return delay

    # -------------------------------------------------------------- market faults
    def feed_fault(
        self, now_ms: int, token_id: str, condition_id: str
    ) -> tuple[int, FeedMode] | None:
        """(spec index, mode) of the first feed fault active for this token, if any."""
        if not self.feed_faults:
            return None
        for i, spec in enumerate(self.plan.specs):
            if (
                isinstance(spec, FeedFault)
                and _in_window(now_ms, spec.start_ms, spec.end_ms)
                and _selects(spec.market, token_id, condition_id)
            ):
                return i, spec.mode
        return None

    def halt_started(self, condition_id: str, now_ms: int) -> int | None:
        """Start time of the halt window containing ``now_ms``, if the market is halted."""
        for spec in self._halts.get(condition_id, ()):
            if _in_window(now_ms, spec.start_ms, spec.end_ms):
                return spec.start_ms
        return None

    def resolved_at(self, condition_id: str) -> int | None:
        return self._resolve_at.get(condition_id)

    def transitions(self) -> list[tuple[int, str, int]]:
        """Times at which the venue must act (snapshot a freeze/halt start, resolve a market):
        sorted ``(time_ms, kind, spec index)`` with kind ``freeze``/``halt``/``resolve``."""
        out: list[tuple[int, str, int]] = []
        for i, spec in enumerate(self.plan.specs):
            if isinstance(spec, FeedFault) and spec.mode == "freeze":
                out.append((spec.start_ms, "freeze", i))
            elif isinstance(spec, HaltMarket):
                out.append((spec.start_ms, "halt", i))
            elif isinstance(spec, ResolveMarket):
                out.append((spec.at_ms, "resolve", i))
            elif isinstance(spec, PriceShock):
                out.append((spec.at_ms, "shock", i))
        out.sort()
        return out

    # -------------------------------------------------------------- settlement faults
    def settlement_path(
        self, match_ms: int, token_id: str, condition_id: str
    ) -> tuple[TradeStatus, ...]:
        """Statuses a fill matched now will go through after MATCHED."""
        for i, spec in enumerate(self.plan.specs):
            if (
                isinstance(spec, SettlementFault)
                and _in_window(match_ms, spec.start_ms, spec.end_ms)
                and _selects(spec.market, token_id, condition_id)
                and self._take(i, spec.count)
            ):
                return _FAILED_PATH if spec.outcome == "FAILED" else _RECOVERED_PATH
        return _NORMAL_PATH
