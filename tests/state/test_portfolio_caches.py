"""The reads the kill switch makes after every input are cached between changes (equity, the
two drawdowns, which tokens are held, how old the oldest held book can be). After any history
each must answer exactly as a projection restored from a snapshot (no caches) answers: the
same Decimal digit for digit, since trips journal these values as text."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polytraders.state.portfolio import PortfolioProjection

# the Feeder's ids (tests/state/conftest.py)
M1, M2 = "0x" + "a1" * 32, "0x" + "b2" * 32
YES1, NO1, YES2 = "1001", "1002", "2001"
DAY_MS = 86_400_000
T0 = 20_000 * DAY_MS + 10 * 3_600_000

_MIDS = [("0.40", "0.42"), ("0.40", "0.42"), ("0.41", "0.43"), ("0.40", "0.43"), (None, "0.5"), ("0.6", "0.7")]
_step = st.one_of(
    st.tuples(st.just("book"), st.sampled_from([YES1, NO1, YES2]), st.sampled_from(_MIDS),
              st.integers(0, 20_000)),
    st.tuples(st.just("fill"), st.sampled_from([YES1, NO1, YES2]), st.sampled_from(["BUY", "SELL"]),
              st.sampled_from(["5", "12.5", "40"])),
    st.tuples(st.just("settle"), st.integers(0, 30), st.sampled_from(["CONFIRMED", "FAILED"])),
    st.tuples(st.just("wallet"), st.sampled_from(["1000", "990.5", "1200"])),
    st.tuples(st.just("tick"), st.sampled_from([1_000, 3_600_000, DAY_MS])),
)


def _fresh(p: PortfolioProjection) -> PortfolioProjection:
    q = PortfolioProjection(p.markets)
    q.restore(p.snapshot())
    return q


def _same(a: Any, b: Any) -> bool:
    return str(a) == str(b)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_step, max_size=60), limit=st.sampled_from([2_000, 15_000]))
def test_cached_reads_equal_a_fresh_projection_after_every_entry(feed: Any, steps: list[Any], limit: int) -> None:
    f = type(feed)()  # a fresh store for every example
    f.market()
    f.market(M2, YES2, "2002", cluster="c2")
    f.wallet("1000", ts=T0)
    now = T0
    trades: list[tuple[str, str, str, str]] = []
    for step in steps:
        now += 500
        if step[0] == "book":
            _, token, (bid, ask), lag = step
            f.book(token, bid, ask, ts=now - lag, market_id=M2 if token == YES2 else M1)
        elif step[0] == "fill":
            _, token, side, size = step
            trade = f"t{len(trades)}"
            trades.append((trade, token, side, size))
            f.fill(trade, side, "0.41", size, ts=now, token=token, market_id=M2 if token == YES2 else M1)
        elif step[0] == "settle" and trades:
            trade, token, side, size = trades[step[1] % len(trades)]
            f.fill(trade, side, "0.41", size, ts=now, token=token, market_id=M2 if token == YES2 else M1,
                   settlement=step[2])
        elif step[0] == "wallet":
            f.wallet(step[1], ts=now)
        elif step[0] == "tick":
            now += step[1]
        p = f.portfolio
        for check_at in (now, now + limit):  # twice: a cached answer must not go stale with time
            fresh = _fresh(p)
            assert _same(p.equity(), fresh.equity())
            assert _same(p.drawdown_intraday_pct(check_at), fresh.drawdown_intraday_pct(check_at))
            assert _same(p.drawdown_weekly_pct(check_at), fresh.drawdown_weekly_pct(check_at))
            assert p.held_tokens() == tuple((t, m) for t, m, _s, _c in fresh.iter_lots())
            # the guards' exposure reads (kept across books that leave a held mark as it was)
            assert _same(p.gross_exposure(), fresh.gross_exposure())
            for read in ("exposure_by_market", "exposure_by_cluster", "exposure_by_strategy"):
                assert {k: str(v) for k, v in getattr(p, read)().items()} == \
                    {k: str(v) for k, v in getattr(fresh, read)().items()}
            ages = [p.markets.book_age_ms(t, check_at) for t, _m in p.held_tokens()]
            all_fresh = all(a is not None and a < limit for a in ages)
            assert p.held_books_fresh(check_at, limit) == all_fresh


def test_a_fill_that_closes_the_finest_term_gives_the_fresh_sums_exponent(feed: Any) -> None:
    """A fill moves the equity by its cash and its token's term instead of summing every lot
    again. When the term leaving was the only one written with the most decimals, the fresh
    sum is written with fewer: the kept one must be too (trips journal equity as text)."""
    f = type(feed)()
    f.market()
    f.market(M2, YES2, "2002", cluster="c2")
    f.wallet("1000", ts=T0)
    f.book(YES1, "0.40", "0.43", ts=T0 + 1)  # mid 0.415: 12.5 x 0.415 = 5.1875, four decimals
    f.book(YES2, "0.40", "0.42", ts=T0 + 2, market_id=M2)
    f.fill("t0", "BUY", "0.41", "12.5", ts=T0 + 3, token=YES1)
    f.fill("t1", "BUY", "0.41", "5", ts=T0 + 4, token=YES2, market_id=M2)
    p = f.portfolio
    assert _same(p.equity(), _fresh(p).equity())
    before = p.equity()
    assert before is not None and before.as_tuple().exponent == -4
    f.fill("t2", "SELL", "0.41", "12.5", ts=T0 + 5, token=YES1)  # closes the four-decimal term
    assert _same(p.equity(), _fresh(p).equity())
    after = p.equity()
    assert after is not None and after.as_tuple().exponent > -4
    f.fill("t3", "BUY", "0.41", "40", ts=T0 + 6, token=YES1)  # and a new term for the same token
    assert _same(p.equity(), _fresh(p).equity())


def test_strategy_exposure_follows_a_token_the_strategies_net_but_nobody_holds(feed: Any) -> None:
    """Two strategies that net out on one token: the portfolio holds none of it, but each
    strategy's exposure is marked by its book. The aggregates kept across an unchanged held book
    must not outlive a move of that token's mark (they are dropped then, as before)."""
    f = type(feed)()
    f.market()
    f.market(M2, YES2, "2002", cluster="c2")
    f.wallet("1000", ts=T0)
    f.order("o1", "s1", YES1, side="BUY")
    f.order("o2", "s2", YES1, side="SELL")
    f.book(YES1, "0.40", "0.42", ts=T0 + 1)
    f.book(YES2, "0.40", "0.42", ts=T0 + 2, market_id=M2)
    f.fill("t1", "BUY", "0.41", "10", ts=T0 + 3, coid="o1")
    f.fill("t2", "SELL", "0.41", "10", ts=T0 + 4, coid="o2")
    f.fill("t3", "BUY", "0.41", "5", ts=T0 + 5, token=YES2, market_id=M2)  # something is held
    p = f.portfolio
    assert [t for t, _m in p.held_tokens()] == [YES2]
    before = {k: str(v) for k, v in p.exposure_by_strategy().items()}
    assert {"s1", "s2"} <= before.keys()
    f.book(YES1, "0.60", "0.62", ts=T0 + 6)  # the netted token's mark moves (not a held book)
    f.book(YES2, "0.40", "0.42", ts=T0 + 7, market_id=M2)  # a held book that leaves its mark
    after = {k: str(v) for k, v in p.exposure_by_strategy().items()}
    assert after == {k: str(v) for k, v in _fresh(p).exposure_by_strategy().items()}
    assert after["s1"] != before["s1"]
