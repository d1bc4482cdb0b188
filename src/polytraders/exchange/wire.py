"""Public JSON shapes: order book summaries (with the CLOB's hash), CLOB markets, Gamma markets.

Book levels are served best-last (bids ascending, asks descending), as the real CLOB serves
them and as the official client's market-order pricing expects.  The book hash is SHA-1 over
the compact JSON of the summary with ``hash`` set to "" and the key order market, asset_id,
timestamp, hash, bids, asks, min_order_size, tick_size, neg_risk, last_trade_price, i.e. what
``py_clob_client_v2.utilities.generate_orderbook_summary_hash`` recomputes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from decimal import Decimal
from typing import Any, Final

from polytraders.venues.base import BookView, MarketInfo, decimal_text

END_CURSOR: Final = "LTE="
FIRST_CURSOR: Final = "MA=="
END_DATE_ISO: Final = "2026-12-31T00:00:00Z"


def encode_cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """Offset of a page cursor; the first page for none or ``MA==``; -1 for the end marker."""
    if not cursor:
        return 0
    if cursor == END_CURSOR:
        return -1
    try:
        return max(0, int(base64.b64decode(cursor.encode()).decode()))
    except (ValueError, UnicodeDecodeError):
        return 0


def page(rows: list[Any], cursor: str | None, limit: int) -> dict[str, Any]:
    """A CLOB page ``{limit, count, next_cursor, data}``; ``LTE=`` marks the last page."""
    offset = decode_cursor(cursor)
    data = [] if offset < 0 else rows[offset:offset + limit]
    end = offset < 0 or offset + limit >= len(rows)
    return {"limit": limit, "count": len(data), "next_cursor": END_CURSOR if end else encode_cursor(offset + limit),
            "data": data}


def book_summary(view: BookView, info: MarketInfo, last_trade: Decimal | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "market": info.condition_id,
        "asset_id": view.token_id,
        "timestamp": str(view.ts_ms),
        "hash": "",
        "bids": [{"price": decimal_text(lv.price), "size": decimal_text(lv.size)} for lv in reversed(view.bids)],
        "asks": [{"price": decimal_text(lv.price), "size": decimal_text(lv.size)} for lv in reversed(view.asks)],
        "min_order_size": decimal_text(view.min_size),
        "tick_size": decimal_text(view.tick),
        "neg_risk": info.neg_risk,
        "last_trade_price": decimal_text(last_trade) if last_trade is not None else "",
    }
    compact = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    body["hash"] = hashlib.sha1(compact.encode()).hexdigest()
    return body


def question(info: MarketInfo) -> str:
    """The market's question as Polymarket words it ("Will the bill pass the senate?"); the
    simulator's "Synthetic market N: will ...?" label is for logs, not for clients."""
    text = info.question.split(": ", 1)[-1]
    return text[:1].upper() + text[1:]


def _slug(info: MarketInfo) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in question(info).lower()).split()
    words.append(info.condition_id[2:8])  # several markets can share a question template
    return "-".join(words[:10])


def _mid(view: BookView | None) -> Decimal | None:
    if view is None or view.best_bid is None or view.best_ask is None:
        return None
    return (view.best_bid + view.best_ask) / 2


def clob_market(info: MarketInfo, yes_view: BookView | None, winner: str | None, fee_bps: int) -> dict[str, Any]:
    """The CLOB ``Market`` object of ``/markets`` and ``/markets/{condition_id}``."""
    mid = _mid(yes_view)
    yes_price = mid if mid is not None else Decimal("0.5")
    closed = info.status == "resolved"
    return {
        "enable_order_book": True, "active": not closed, "closed": closed, "archived": False,
        "accepting_orders": info.status == "open", "accepting_order_timestamp": "2026-01-01T00:00:00Z",
        "minimum_order_size": float(info.min_size), "minimum_tick_size": float(info.tick),
        "condition_id": info.condition_id,
        "question_id": "0x" + hashlib.sha256(f"q/{info.condition_id}".encode()).hexdigest(),
        "question": question(info), "description": f"{question(info)} Resolves Yes or No.",
        "market_slug": _slug(info), "end_date_iso": END_DATE_ISO, "game_start_time": None,
        "seconds_delay": 0, "fpmm": "", "maker_base_fee": 0, "taker_base_fee": fee_bps,
        "notifications_enabled": True, "neg_risk": info.neg_risk, "neg_risk_market_id": "",
        "neg_risk_request_id": "", "icon": "", "image": "", "tags": [info.cluster],
        "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
        "tokens": [
            {"token_id": info.yes_token, "outcome": "Yes", "price": float(yes_price),
             "winner": winner == info.yes_token},
            {"token_id": info.no_token, "outcome": "No", "price": float(1 - yes_price),
             "winner": winner == info.no_token},
        ],
    }


def clob_market_short(info: MarketInfo, fee_bps: int) -> dict[str, Any]:
    """``/clob-markets/{condition_id}``: the compact keys the official client caches."""
    body: dict[str, Any] = {
        "t": [{"t": info.yes_token, "o": "Yes"}, {"t": info.no_token, "o": "No"}],
        "mts": float(info.tick), "mos": float(info.min_size), "mbf": 0, "tbf": fee_bps,
        "fd": {"r": fee_bps / 10_000, "e": 1, "to": True}, "rfqe": False,
        "itode": info.cluster == "sports", "ibce": False, "oas": 0,
    }
    if info.neg_risk:
        body["nr"] = True
    return body


def gamma_market(info: MarketInfo, index: int, yes_view: BookView | None, winner: str | None,
                 last_trade: Decimal | None) -> dict[str, Any]:
    """A Gamma market (``outcomes``, ``outcomePrices`` and ``clobTokenIds`` are JSON strings)."""
    closed = info.status == "resolved"
    if closed:
        prices = ["1", "0"] if winner == info.yes_token else ["0", "1"]
    else:
        mid = _mid(yes_view)
        yes = mid if mid is not None else Decimal("0.5")
        prices = [decimal_text(yes), decimal_text(1 - yes)]
    best_bid = yes_view.best_bid if yes_view is not None else None
    best_ask = yes_view.best_ask if yes_view is not None else None
    return {
        "id": str(index + 1), "question": question(info), "conditionId": info.condition_id,
        "questionID": "0x" + hashlib.sha256(f"q/{info.condition_id}".encode()).hexdigest(),
        "slug": _slug(info), "outcomes": json.dumps(["Yes", "No"]), "outcomePrices": json.dumps(prices),
        "clobTokenIds": json.dumps([info.yes_token, info.no_token]), "active": not closed, "closed": closed,
        "archived": False, "acceptingOrders": info.status == "open", "enableOrderBook": True,
        "endDate": END_DATE_ISO, "endDateIso": END_DATE_ISO[:10], "startDate": "2026-01-01T00:00:00Z",
        "negRisk": info.neg_risk, "orderPriceMinTickSize": float(info.tick), "orderMinSize": float(info.min_size),
        "umaResolutionStatus": "resolved" if closed else "", "category": info.cluster,
        "bestBid": float(best_bid) if best_bid is not None else None,
        "bestAsk": float(best_ask) if best_ask is not None else None,
        "lastTradePrice": float(last_trade) if last_trade is not None else 0,
        "spread": float(best_ask - best_bid) if best_bid is not None and best_ask is not None else None,
        "version": "v1",
    }
