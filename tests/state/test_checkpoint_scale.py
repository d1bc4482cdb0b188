"""Checkpoints at scale: spaced by their weight, encoded as pydantic would encode them, and the
bulk book decoder readers use gives exactly what a plain decode gives, or fails where it fails."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from factories import run_unstopped_system
from hypothesis import given, settings
from hypothesis import strategies as st

from polytraders.contracts import Checkpoint, OrderBookSnapshot
from polytraders.contracts.envelope import Actor, ReportEnvelope
from polytraders.engine.demo import DemoArgs, run_demo
from polytraders.journal.sqlite import open_journal
from polytraders.state.bulk_decode import BookDecoder
from polytraders.state.standard import build_full_state
from polytraders.state.store import ENTRIES_PER_ITEM, checkpoint_weight

SYS = Actor(kind="system", id="test")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cp") / "demo.db"
    run_demo(DemoArgs(minutes=4, markets=3, seed=7, db=db))
    return db


def test_the_checkpoint_encodes_as_pydantic_would(demo_db: Path) -> None:
    state = build_full_state()
    with open_journal(demo_db, readonly=True) as j:
        state.rebuild(j, use_checkpoint=False)
    cp = state.checkpoint_contract()
    assert cp.state["orders"]["orders"], "a demo with orders, so the check has something in it"
    assert cp.to_json_dict() == cp.model_dump(mode="json")
    assert state.checkpoint_weight == checkpoint_weight(cp.state) > 0


def test_the_interval_grows_with_the_last_checkpoint(demo_db: Path) -> None:
    state = build_full_state()
    assert state.checkpoint_interval(300) == 300  # no checkpoint built yet
    state.checkpoint_weight = 10_000
    assert state.checkpoint_interval(300) == int(10_000 * ENTRIES_PER_ITEM) > 300
    assert state.checkpoint_interval(20_000) == 20_000


def test_a_running_system_spaces_its_checkpoints_by_weight(tmp_path: Path) -> None:
    """Each checkpoint comes at least `checkpoint_interval` entries after the one before, as the
    weight of that one set it; a reader restoring the last one ends where a full fold ends."""
    db = tmp_path / "running.db"
    run_unstopped_system(db, seconds=240, checkpoint_every=50)
    with open_journal(db, readonly=True) as j:
        cps = list(j.read(kinds=["checkpoint"]))
        assert len(cps) >= 3
        weights = [checkpoint_weight(c.envelope.payload["state"]) for c in cps]
        assert weights[-1] * ENTRIES_PER_ITEM > 50, "the run must reach the weight-driven spacing"
        for before, after, w in zip(cps, cps[1:], weights, strict=False):
            assert after.seq - before.seq >= max(50, int(w * ENTRIES_PER_ITEM))
        restored, folded = build_full_state(), build_full_state()
        restored.rebuild(j)
        folded.rebuild(j, use_checkpoint=False)
        assert restored.last_seq == folded.last_seq and restored.snapshot() == folded.snapshot()


def _book_env(payload: dict[str, Any]) -> ReportEnvelope:
    return ReportEnvelope.model_validate({
        "kind": OrderBookSnapshot.kind, "actor": {"kind": "system", "id": "test"},
        "reason_code": "GOV_MARKET_DATA", "severity": "INFO", "ts_ms": 1, "payload": payload})


def test_bulk_decode_equals_a_plain_decode_on_a_real_journal(demo_db: Path) -> None:
    books = BookDecoder()
    with open_journal(demo_db, readonly=True) as j:
        envs = [e.envelope for e in j.read(kinds=[OrderBookSnapshot.kind])]
    assert len(envs) > 100
    for env in envs:
        books.predecode(env)
        plain = OrderBookSnapshot.model_validate(env.payload)
        assert env.decode() == plain and env.decode().to_json_dict() == env.payload
    assert len(books._levels) < sum(len(e.payload["bids"]) + len(e.payload["asks"]) for e in envs) / 3


_PRICES = st.sampled_from(["0.5", "0.51", "0.505", "0.49", "1", "0", "-0.1", "abc", "0.00001", "NaN"])
_LEVEL = st.one_of(
    st.fixed_dictionaries({"price": _PRICES, "size": st.sampled_from(["10", "0", "-1", "1e3", "x"])}),
    st.fixed_dictionaries({"price": _PRICES, "size": st.just("5"), "schema_version": st.just("1.0.0")}),
    st.fixed_dictionaries({"price": _PRICES, "size": st.just("5"), "extra": st.just(1)}),
    st.fixed_dictionaries({"price": st.just(["0.5"]), "size": st.just("5")}),
    st.just("not a level"),
)


@settings(max_examples=150, deadline=None)
@given(bids=st.lists(_LEVEL, max_size=3), asks=st.lists(_LEVEL, max_size=3),
       tick=st.sampled_from(["0.01", "0.001", "0.05"]))
def test_bulk_decode_accepts_and_refuses_exactly_what_decode_does(bids: list[Any], asks: list[Any],
                                                                  tick: str) -> None:
    payload = {"market_id": "0x" + "ab" * 32, "token_id": "123", "ts_ms": 5, "tick": tick,
               "bids": bids, "asks": asks, "book_hash": "h" * 16}
    try:
        expected: OrderBookSnapshot | None = OrderBookSnapshot.model_validate(payload)
    except ValueError:
        expected = None
    books = BookDecoder()
    for _ in range(2):  # the second pass meets every level in the memo
        env = _book_env(payload)
        books.predecode(env)
        if expected is None:
            with pytest.raises(ValueError):
                env.decode()
        else:
            got = env.decode()
            assert got == expected and got.bids == expected.bids and got.tick == Decimal(tick)


def test_bulk_decode_leaves_other_kinds_alone() -> None:
    env = ReportEnvelope.wrap(Checkpoint(upto_seq=0, state={}), actor=SYS, reason_code="GOV_CHECKPOINT", ts_ms=1)
    BookDecoder().predecode(env)
    assert isinstance(env.decode(), Checkpoint)


def test_moved_equity_is_the_fresh_sum_digit_for_digit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Equity moved by one book (old term out, new term in) equals, in value and in exponent,
    the left-to-right sum over every held lot that the portfolio made before."""
    from polytraders.state.portfolio import PortfolioProjection

    original = PortfolioProjection._moved_equity
    checked = 0

    def checking(self: PortfolioProjection, total: Decimal,
                 override: tuple[str, Decimal | None]) -> tuple[Decimal, bool] | None:
        nonlocal checked
        got = original(self, total, override)
        if got is not None:
            want = _fresh_equity(self, override)
            assert got[0].as_tuple() == want.as_tuple(), (got[0], want)
            checked += 1
        return got

    monkeypatch.setattr(PortfolioProjection, "_moved_equity", checking)
    run_demo(DemoArgs(minutes=8, markets=6, seed=3, db=tmp_path / "eq.db"))
    assert checked > 50


def _fresh_equity(p: Any, override: tuple[str, Decimal | None]) -> Decimal:
    """The left-to-right sum over every held lot, with one token marked as `override` says."""
    total: Decimal = p._cash
    for token_id, tok in p._tokens.items():
        lot = tok.current
        if lot.size == 0:
            continue
        mark = (override[1] if override[1] is not None else lot.last_price) \
            if override[0] == token_id else p._mark(token_id, lot)
        total += lot.size * mark if mark is not None else lot.cost
    return total


def test_moved_equity_takes_the_fresh_sums_exponent(tmp_path: Path, trusted_runtime: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Books on every tick size and fills of every precision: the term a book moves often had
    the sum's smallest exponent, and the moved sum must then take the fresh sum's exponent."""
    import random

    from polytraders.contracts import BookLevel, FillRecord, MarketSnapshot, Note
    from polytraders.runtime.clock import SimClock
    from polytraders.state.portfolio import PortfolioProjection, add_accounting
    from polytraders.state.store import StateStore

    original = PortfolioProjection._moved_equity
    checked = reshaped = 0

    def checking(self: PortfolioProjection, total: Decimal,
                 override: tuple[str, Decimal | None]) -> tuple[Decimal, bool] | None:
        nonlocal checked, reshaped
        tok, old = self._tokens.get(override[0]), self._eq_marks.get(override[0])
        naive = None if tok is None or old is None or override[1] is None else \
            total - tok.current.size * old + tok.current.size * override[1]
        got = original(self, total, override)
        if got is not None:
            assert got[0].as_tuple() == _fresh_equity(self, override).as_tuple()
            checked += 1
            reshaped += naive is not None and naive.as_tuple() != got[0].as_tuple()
        return got

    monkeypatch.setattr(PortfolioProjection, "_moved_equity", checking)
    rng = random.Random(11)
    market, tokens = "0x" + "d4" * 32, ("4001", "4002", "4003")
    clock = SimClock(1_767_571_200_000)
    store = StateStore()
    add_accounting(store)
    rt, _ = trusted_runtime(tmp_path / "eq.db", clock, state=store)
    rt.record(MarketSnapshot(market_id=market, question="q?", yes_token=tokens[0], no_token=tokens[1],
                             tick=Decimal("0.0001"), min_size=Decimal(5), observed_at_ms=clock.now_ms()),
              actor=SYS, reason_code="GOV_MARKET_DATA")
    rt.record(Note(detail={"pusd": "1000.5", "source": "sim"}), actor=SYS, reason_code="GOV_WALLET_BALANCE")
    for i in range(600):
        clock.advance(1_000)
        token = rng.choice(tokens)
        if rng.random() < 0.85:
            tick = rng.choice(("0.01", "0.001", "0.0001"))
            step = Decimal(tick)
            bid = step * rng.randint(int(Decimal("0.05") / step), int(Decimal("0.9") / step))
            ask = bid + step * rng.randint(1, 3)
            rt.record(OrderBookSnapshot(market_id=market, token_id=token, ts_ms=clock.now_ms(),
                                        tick=step, bids=(BookLevel(price=bid, size=Decimal(10)),),
                                        asks=(BookLevel(price=ask, size=Decimal(10)),),
                                        book_hash=f"hash{i:06d}"), actor=SYS, reason_code="GOV_MARKET_DATA")
        else:
            rt.record(FillRecord(trade_id=f"T{i}", client_order_id=f"c{i:06d}", market_id=market,
                                 token_id=token, side=rng.choice(("BUY", "BUY", "SELL")),
                                 price=Decimal(rng.randint(5, 95)) / 100,
                                 size=Decimal(rng.randint(1, 5000)) / rng.choice((1, 10, 100, 1000)),
                                 fee_pusd=Decimal(0), liquidity="taker", ts_ms=clock.now_ms()),
                      actor=SYS, reason_code="GOV_VENUE_EVENT")
    assert checked > 100 and reshaped > 0
