"""Order construction, EIP-712 digest, sign/recover round trip, wire body, key hygiene."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from hypothesis import example, given, settings
from hypothesis import strategies as st

from polytraders.signing.constants import (
    BUILDER_CODE,
    CONTRACT_ALLOW_LIST,
    MAX_SALT,
    ZERO_BYTES32,
    SignatureType,
)
from polytraders.signing.order import (
    OrderSigner,
    SignedOrderV2,
    UnsignedOrderV2,
    build_order,
    order_hash,
    recover_signer,
    salt_from_key,
    sign_order,
    to_wire,
    verifying_contract,
)

from .helpers import TIMESTAMP_MS, TOKEN_ID, make_key

D = Decimal


def _build(**overrides: Any) -> UnsignedOrderV2:
    signer = OrderSigner(make_key(0))
    kwargs: dict[str, Any] = {
        "token_id": TOKEN_ID,
        "side": "SELL",
        "price": D("0.42"),
        "size": D("25"),
        "tick": D("0.01"),
        "maker": signer.address,
        "signer": signer.address,
        "signature_type": 0,
        "timestamp_ms": TIMESTAMP_MS,
        "salt": 7,
        "builder_code": BUILDER_CODE,
    }
    kwargs.update(overrides)
    return build_order(**kwargs)


# ------------------------------------------------------------------------------------------
# build_order
# ------------------------------------------------------------------------------------------
def test_build_order_fields(order: UnsignedOrderV2, signer: OrderSigner) -> None:
    assert order == UnsignedOrderV2(
        salt=123_456_789,
        maker=signer.address,
        signer=signer.address,
        token_id=int(TOKEN_ID),
        maker_amount=5_500_000,
        taker_amount=10_000_000,
        side=0,
        signature_type=0,
        timestamp_ms=TIMESTAMP_MS,
        metadata=ZERO_BYTES32,
        builder=BUILDER_CODE,
        expiration=0,
    )


def test_build_order_normalises_addresses_and_hex() -> None:
    signer = OrderSigner(make_key(0))
    proxy = "0x" + "ab" * 20
    built = _build(
        maker=proxy,
        signer=signer.address.lower(),
        signature_type=1,
        builder_code=BUILDER_CODE.upper().replace("0X", "0x"),
        metadata="0x" + "CD" * 32,
    )
    assert built.maker == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert built.signer == signer.address
    assert built.builder == BUILDER_CODE
    assert built.metadata == "0x" + "cd" * 32


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"token_id": "0123"}, r"token_id='0123' is invalid: expected a decimal string"),
        ({"token_id": "0x1f"}, r"token_id='0x1f' is invalid"),
        ({"token_id": 5}, r"token_id=5 is invalid"),
        ({"side": "sell"}, r"side='sell' is invalid: expected 'BUY' or 'SELL'"),
        ({"price": D("0.425")}, r"price=0\.425 is off the tick grid"),
        ({"size": D("0")}, r"size=0 is invalid: expected size > 0"),
        ({"tick": D("0.02")}, r"tick=0\.02 is not a known tick size"),
        ({"maker": "0x1234"}, r"maker='0x1234' is invalid: expected a 0x-prefixed 20-byte"),
        ({"maker": b"\xab" * 20}, r"maker=b'.*' is invalid: expected a 0x-prefixed 20-byte"),
        (
            {"maker": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABab"},  # bad EIP-55 checksum
            r"maker='0xABaBaBaBABabABabAbAbABAbABabababaBaBABab' is invalid: expected a valid EIP",
        ),
        ({"signature_type": 4}, r"signature_type=4 is invalid: expected an int in \[0, 3\]"),
        ({"signature_type": True}, r"signature_type=True is invalid"),
        ({"timestamp_ms": 1_767_225_600}, r"timestamp_ms=1767225600 is invalid"),  # seconds
        ({"salt": -1}, r"salt=-1 is invalid: expected an int in \[0, 9007199254740991\]"),
        ({"salt": MAX_SALT + 1}, r"salt=9007199254740992 is invalid"),
        ({"builder_code": ZERO_BYTES32}, r"builder_code='0x0+' is invalid: expected a non-zero"),
        ({"builder_code": "0xb0"}, r"builder_code='0xb0' is invalid: expected a 0x-prefixed 32"),
        ({"metadata": "00" * 32}, r"metadata='0+' is invalid"),
        ({"expiration_s": 1_767_225_600_000}, r"expiration=1767225600000 is invalid"),  # ms
        ({"expiration_s": 1_767_225_000}, r"expiration=1767225000 is invalid: expected 0 or"),
        ({"expiration_s": -1}, r"expiration=-1 is invalid"),
        ({"maker": "0x" + "ab" * 20}, r"maker='0xAB.*' is invalid: expected maker == signer"),
    ],
)
def test_build_order_refusals(overrides: dict[str, Any], pattern: str) -> None:
    with pytest.raises((ValueError, TypeError), match=pattern):
        _build(**overrides)


def test_poly_1271_requires_maker_equal_signer() -> None:
    wallet = "0x" + "12" * 20
    built = _build(maker=wallet, signer=wallet, signature_type=3)
    assert built.maker == built.signer
    with pytest.raises(ValueError, match="expected maker == signer"):
        _build(maker=wallet, signer="0x" + "34" * 20, signature_type=3)


def test_unsigned_order_is_frozen(order: UnsignedOrderV2) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.salt = 1  # type: ignore[misc]


def test_salt_from_key_is_deterministic_and_json_safe() -> None:
    a = salt_from_key("intent-1")
    assert a == salt_from_key(b"intent-1")
    assert a != salt_from_key("intent-2")
    assert 0 <= a <= MAX_SALT


# ------------------------------------------------------------------------------------------
# Digest and signatures
# ------------------------------------------------------------------------------------------
def test_verifying_contract_selection() -> None:
    assert verifying_contract(137, False) == "0xE111180000d2663C0091e4f400237545B87B996B"
    assert verifying_contract(137, True) == "0xe2222d279d744050d28e00520010520000310F59"
    assert verifying_contract(80002, True) in CONTRACT_ALLOW_LIST
    with pytest.raises(ValueError, match=r"chain_id=1 is invalid: expected one of \[137, 80002\]"):
        verifying_contract(1, False)
    with pytest.raises(ValueError, match=r"neg_risk=1 is invalid: expected a bool"):
        verifying_contract(137, 1)  # type: ignore[arg-type]


def test_round_trip_sign_recover(order: UnsignedOrderV2, signer: OrderSigner) -> None:
    for chain_id in (137, 80002):
        for neg_risk in (False, True):
            signed = sign_order(order, signer, chain_id, neg_risk)
            assert len(signed.signature) == 2 + 130
            assert recover_signer(signed, chain_id, neg_risk) == signer.address
            # Signed for one exchange, it does not verify for the other.
            assert recover_signer(signed, chain_id, not neg_risk) != signer.address


def test_signing_is_deterministic(order: UnsignedOrderV2, signer: OrderSigner) -> None:
    assert sign_order(order, signer, 137, False) == sign_order(order, signer, 137, False)


def test_round_trip_proxy_and_safe() -> None:
    signer = OrderSigner(make_key(1))
    for signature_type in (SignatureType.POLY_PROXY, SignatureType.POLY_GNOSIS_SAFE):
        built = _build(maker="0x" + "77" * 20, signer=signer.address, signature_type=signature_type)
        signed = sign_order(built, signer, 137, True)
        assert recover_signer(signed, 137, True) == signer.address


def test_round_trip_poly_1271_recovers_owner() -> None:
    owner = OrderSigner(make_key(2))
    wallet = "0x" + "5a" * 20
    built = _build(maker=wallet, signer=wallet, signature_type=3)
    signed = sign_order(built, owner, 137, False)
    assert len(signed.signature) > 2 + 130
    assert recover_signer(signed, 137, False) == owner.address
    # The envelope is bound to the exchange domain.
    with pytest.raises(ValueError, match="expected an envelope for this order and domain"):
        recover_signer(signed, 137, True)


def test_sign_refuses_wrong_key(order: UnsignedOrderV2) -> None:
    other = OrderSigner(make_key(9))
    with pytest.raises(ValueError, match=r"order\.signer=.* expected the signing key's address"):
        sign_order(order, other, 137, False)


def test_sign_refuses_zero_builder(order: UnsignedOrderV2, signer: OrderSigner) -> None:
    bare = dataclasses.replace(order, builder=ZERO_BYTES32)
    with pytest.raises(ValueError, match="expected a non-zero builder code"):
        sign_order(bare, signer, 137, False)


def test_sign_refuses_unknown_chain(order: UnsignedOrderV2, signer: OrderSigner) -> None:
    with pytest.raises(ValueError, match="chain_id=1 is invalid"):
        sign_order(order, signer, 1, False)


_SIGNED_FIELD_CHANGES: dict[str, Any] = {
    "salt": 123_456_790,
    "maker": "0x" + "11" * 20,  # (with signature_type 1 below so maker may differ)
    "signer": None,  # filled in per test: another key's address
    "token_id": int(TOKEN_ID) + 1,
    "maker_amount": 5_500_001,
    "taker_amount": 10_000_001,
    "side": 0,
    "signature_type": 2,
    "timestamp_ms": TIMESTAMP_MS + 1,
    "metadata": "0x" + "00" * 31 + "01",
    "builder": "0x" + "00" * 31 + "02",
}


def test_every_signed_field_changes_the_digest(signer: OrderSigner) -> None:
    base = _build(maker="0x" + "99" * 20, signature_type=1)
    signed = sign_order(base, signer, 137, False)
    digest = order_hash(base, 137, False)
    other_address = OrderSigner(make_key(3)).address
    assert {f.name for f in dataclasses.fields(UnsignedOrderV2)} == {
        *_SIGNED_FIELD_CHANGES,
        "expiration",
    }
    for field, value in _SIGNED_FIELD_CHANGES.items():
        new_value: Any = other_address if field == "signer" else value
        assert getattr(base, field) != new_value
        changes: dict[str, Any] = {field: new_value}
        changed = dataclasses.replace(base, **changes)
        assert order_hash(changed, 137, False) != digest, field
        # The old signature no longer verifies for the changed order.
        moved = SignedOrderV2(order=changed, signature=signed.signature)
        assert recover_signer(moved, 137, False) != signer.address, field


def test_domain_changes_the_digest(order: UnsignedOrderV2) -> None:
    digests = {order_hash(order, chain, neg) for chain in (137, 80002) for neg in (False, True)}
    assert len(digests) == 4


def test_expiration_is_not_signed(order: UnsignedOrderV2, signer: OrderSigner) -> None:
    signed = sign_order(order, signer, 137, False)
    later = dataclasses.replace(order, expiration=1_767_229_200)
    assert order_hash(later, 137, False) == order_hash(order, 137, False)
    moved = SignedOrderV2(order=later, signature=signed.signature)
    assert recover_signer(moved, 137, False) == signer.address
    assert sign_order(later, signer, 137, False).signature == signed.signature


def test_order_hash_format(order: UnsignedOrderV2) -> None:
    digest = order_hash(order, 137, False)
    assert digest.startswith("0x") and len(digest) == 66 and digest == digest.lower()


def test_signed_order_validates_signature_shape(order: UnsignedOrderV2) -> None:
    with pytest.raises(ValueError, match=r"signature=.* expected 0x-prefixed hex"):
        SignedOrderV2(order=order, signature="zz")
    with pytest.raises(ValueError, match=r"signature='<64 bytes>' is invalid: expected 65 bytes"):
        SignedOrderV2(order=order, signature="0x" + "00" * 64)


# ------------------------------------------------------------------------------------------
# Wire format
# ------------------------------------------------------------------------------------------
def test_to_wire_shape(order: UnsignedOrderV2, signer: OrderSigner) -> None:
    signed = sign_order(order, signer, 137, False)
    body = to_wire(signed, "00000000-0000-4000-8000-000000000000", "GTC", post_only=True)
    assert body == {
        "order": {
            "salt": 123_456_789,
            "maker": signer.address,
            "signer": signer.address,
            "tokenId": TOKEN_ID,
            "makerAmount": "5500000",
            "takerAmount": "10000000",
            "side": "BUY",
            "expiration": "0",
            "signatureType": 0,
            "timestamp": str(TIMESTAMP_MS),
            "metadata": ZERO_BYTES32,
            "builder": BUILDER_CODE,
            "signature": signed.signature,
        },
        "owner": "00000000-0000-4000-8000-000000000000",
        "orderType": "GTC",
        "deferExec": False,
        "postOnly": True,
    }
    assert list(body) == ["order", "owner", "orderType", "deferExec", "postOnly"]


def test_to_wire_gtd_and_sell(signer: OrderSigner) -> None:
    built = _build(expiration_s=1_767_229_200)
    body = to_wire(sign_order(built, signer, 137, True), "k", "GTD", post_only=False)
    assert body["order"]["expiration"] == "1767229200"
    assert body["order"]["side"] == "SELL"
    assert body["order"]["makerAmount"] == "25000000"
    assert body["order"]["takerAmount"] == "10500000"


@pytest.mark.parametrize(
    ("order_type", "post_only", "expiration", "pattern"),
    [
        ("IOC", False, 0, r"order_type='IOC' is invalid"),
        ("FOK", True, 0, r"post_only=True is invalid: expected False for order_type FOK"),
        ("FAK", True, 0, r"post_only=True is invalid"),
        ("GTD", False, 0, r"expiration=0 is invalid: expected a non-zero unix time"),
        ("GTC", False, 1_767_229_200, r"expiration=1767229200 is invalid: expected 0 for a GTC"),
    ],
)
def test_to_wire_refusals(
    signer: OrderSigner, order_type: str, post_only: bool, expiration: int, pattern: str
) -> None:
    signed = sign_order(_build(expiration_s=expiration), signer, 137, False)
    with pytest.raises(ValueError, match=pattern):
        to_wire(signed, "k", order_type, post_only)


def test_to_wire_requires_owner(order: UnsignedOrderV2, signer: OrderSigner) -> None:
    with pytest.raises(ValueError, match="owner_api_key='' is invalid"):
        to_wire(sign_order(order, signer, 137, False), "", "GTC", False)


# ------------------------------------------------------------------------------------------
# Key hygiene
# ------------------------------------------------------------------------------------------
def _key_forms(private_key: str) -> list[str]:
    bare = private_key[2:].lower()
    return [bare, bare.upper(), bare[:16], bare[-16:]]


def _assert_no_key(text: str, private_key: str) -> None:
    lowered = text.lower()
    for form in _key_forms(private_key):
        assert form.lower() not in lowered


def test_repr_and_str_hide_the_key(private_key: str, signer: OrderSigner) -> None:
    assert repr(signer) == f"OrderSigner(address={signer.address})"
    for text in (repr(signer), str(signer), f"{signer}", f"{signer!r}"):
        _assert_no_key(text, private_key)
    assert not hasattr(signer, "__dict__")


def test_signer_cannot_be_pickled_or_copied(signer: OrderSigner) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(signer)
    with pytest.raises(TypeError):
        copy.copy(signer)
    with pytest.raises(TypeError):
        copy.deepcopy(signer)


@pytest.mark.parametrize(
    "bad_key",
    [
        "0x" + "ab" * 31,  # 31 bytes
        "0x" + "ab" * 33,  # 33 bytes
        "0x" + "zz" + "ab" * 31,  # not hex
        "0x" + "00" * 32,  # zero key (out of curve range)
        "0x" + "ff" * 32,  # above curve order
    ],
)
def test_bad_key_error_does_not_leak(bad_key: str) -> None:
    with pytest.raises(ValueError) as info:
        OrderSigner(bad_key)
    message = str(info.value)
    assert "value withheld" in message
    _assert_no_key(message, bad_key)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_failed_calls_do_not_leak_the_key(
    private_key: str, signer: OrderSigner, order: UnsignedOrderV2
) -> None:
    messages: list[str] = []
    other = OrderSigner(make_key(5))
    for call in (
        lambda: sign_order(order, other, 137, False),
        lambda: sign_order(order, signer, 1, False),
        lambda: sign_order(order, private_key, 137, False),  # type: ignore[arg-type]
        lambda: signer.sign_digest(b"short"),
        lambda: OrderSigner.from_account(private_key),  # type: ignore[arg-type]
    ):
        with pytest.raises((ValueError, TypeError)) as info:
            call()
        messages.append(str(info.value))
    for message in messages:
        _assert_no_key(message, private_key)


def test_signed_output_does_not_contain_the_key(
    private_key: str, signer: OrderSigner, order: UnsignedOrderV2
) -> None:
    signed = sign_order(order, signer, 137, False)
    _assert_no_key(repr(signed), private_key)
    _assert_no_key(repr(to_wire(signed, "k", "GTC", False)), private_key)


def test_from_account(private_key: str) -> None:
    wrapped = OrderSigner.from_account(Account.from_key(private_key))
    assert wrapped.address == OrderSigner(private_key).address


# ------------------------------------------------------------------------------------------
# the plain fast path of UnsignedOrderV2's checks never lets through what the full checks refuse
# ------------------------------------------------------------------------------------------
_GOOD = "0x" + "ab" * 20
_WALLET = OrderSigner(make_key(0)).address


@settings(max_examples=300)
@given(
    st.one_of(st.integers(-1, 2**53 + 1), st.booleans()),
    st.sampled_from([_WALLET, _WALLET.lower(), _GOOD, "0xAbab" + "ab" * 18, "0x12", 7]),
    st.sampled_from([_WALLET, _GOOD]),
    st.one_of(st.integers(-1, 3), st.just(2**256), st.just(True)),
    st.integers(-1, 2), st.integers(-1, 4),
    st.sampled_from([10**12, 10**12 - 1, 10**14 + 1, 1_700_000_000_000]),
    st.sampled_from([BUILDER_CODE, BUILDER_CODE.upper().replace("0X", "0x"), "0x" + "00" * 32, "0x1"]),
    st.sampled_from([0, 10**9, 1_700_000_100, 10**11 + 1, -5]),
)
@example(7, _WALLET, _WALLET, 1, 0, 0, 1_700_000_000_000, BUILDER_CODE, 0)  # a plain order: checked both ways
def test_plain_order_checks_pass_only_what_the_full_checks_pass(
        salt: int, maker: object, signer: str, amount: int, side: int, sig_type: int, ts: int, builder: str,
        expiration: int) -> None:
    import polytraders.signing.order as order_mod

    _build()  # the usual wallet and builder code are known-good now
    fields = {"salt": salt, "maker": maker, "signer": signer, "token_id": 5, "maker_amount": amount,
              "taker_amount": 3, "side": side, "signature_type": sig_type, "timestamp_ms": ts,
              "metadata": "0x" + "00" * 32, "builder": builder, "expiration": expiration}
    order = object.__new__(UnsignedOrderV2)
    for name, value in fields.items():
        object.__setattr__(order, name, value)
    if not order_mod._plain(order):
        return
    plain = order_mod._plain
    try:
        order_mod._plain = lambda o: False  # type: ignore[assignment]
        order.__post_init__()  # the full checks: must not raise
    finally:
        order_mod._plain = plain  # type: ignore[assignment]


def test_a_built_order_takes_the_plain_path_and_a_foreign_string_does_not() -> None:
    import polytraders.signing.order as order_mod

    order = _build()
    assert order_mod._plain(order), "our wallet and builder code are known-good after one full check"
    with pytest.raises(ValueError, match="EIP-55"):
        dataclasses.replace(order, maker=order.maker.lower(), signer=order.signer.lower())
