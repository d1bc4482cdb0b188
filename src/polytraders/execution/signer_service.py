"""The signing hand-off: ExecutionPlan step -> SigningRequest -> SignedOrderRequest.

`SignerService.prepare` builds the unsigned CLOB V2 order for one planned child (salt derived
from the client order id, so a resubmission after a crash is the same order with the same hash;
timestamp = the runtime's now; our builder code pinned) and wraps it, with the EIP-712 domain it
will be signed under, in a `SigningRequest` for the Security checks (`sec.*` bots) to vote on.
The builder code is configuration (default: ours). A deposit wallet (signature type 3,
POLY_1271) is supported: maker and signer are the wallet, the key is its owner, and the
signature is the ERC-7739 envelope.  `SignerService.sign` signs only after re-checking what
it is about to sign (defence in depth behind the Security bots) and refuses to return a
signature that does not recover to its own
signer. Errors carry a SEC_* code and never any key material.

GTD: the venue applies a one-minute security threshold (an order meant to live N s needs
expiration = now + 60 + N), so the wire expiration is the plan's expiry plus
`GTD_SECURITY_THRESHOLD_S`. Expiration is not part of the signed struct.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Final

from polytraders.contracts import ExecutionPlan, MarketSnapshot, PlannedOrder, SignedOrderRequest
from polytraders.contracts.orders import VenueOrderType, signed_order_request
from polytraders.errors import PolytradersError
from polytraders.signing.constants import (
    BUILDER_CODE,
    CHAIN_CONTRACTS,
    EIP712_DOMAIN_NAME,
    EIP712_DOMAIN_VERSION,
    POLYGON_CHAIN_ID,
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
    sign_order_checked,
    verifying_contract,
)

__all__ = [
    "GTD_SECURITY_THRESHOLD_S",
    "SignerService",
    "SigningError",
    "SigningRequest",
    "demo_signer",
    "verify_signed_order",
]

GTD_SECURITY_THRESHOLD_S: Final[int] = 60
_BUILDER_RE: Final = re.compile(r"0x[0-9a-fA-F]{64}")


class SigningError(PolytradersError):
    """Signing was refused or produced something unverifiable. Never quotes key material."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True, slots=True)
class SigningRequest:
    """One child order about to be signed, with the domain it will be signed under."""

    plan: ExecutionPlan
    step: PlannedOrder
    unsigned: UnsignedOrderV2
    chain_id: int
    verifying_contract: str
    domain_name: str
    domain_version: str
    neg_risk: bool

    @property
    def intent_id(self) -> str:
        return self.plan.intent_id


def _wire_expiration_s(step: PlannedOrder) -> int:
    if step.order_type != "GTD":
        return 0
    if step.expires_at_ms is None:
        raise SigningError(
            f"Planned order {step.client_order_id} is GTD but has no expiry; it was not signed.",
            code="SEC_SIGNING_INVALID",
        )
    return -(-step.expires_at_ms // 1000) + GTD_SECURITY_THRESHOLD_S


class SignerService:
    """Prepares and signs CLOB V2 orders for one maker wallet with one signing key."""

    __slots__ = ("_maker_lower", "_order_signer", "_signer", "builder_code", "chain_id", "maker",
                 "signature_type")

    def __init__(self, signer: OrderSigner, maker: str, chain_id: int = POLYGON_CHAIN_ID,
                 signature_type: int = int(SignatureType.EOA), *,
                 builder_code: str = BUILDER_CODE) -> None:
        if not isinstance(signer, OrderSigner):
            raise TypeError("signer is invalid: expected an OrderSigner")
        if chain_id not in CHAIN_CONTRACTS:
            raise SigningError(f"Chain id {chain_id} is not a supported CLOB V2 chain.",
                               code="SEC_DOMAIN_MISMATCH")
        if signature_type not in tuple(SignatureType):
            raise SigningError(f"Signature type {signature_type} is not a CLOB V2 signature type.",
                               code="SEC_SIGNING_INVALID")
        if not _BUILDER_RE.fullmatch(builder_code) or int(builder_code, 16) == 0:
            # Every platform order carries a builder code; a malformed one would be signed in.
            raise SigningError("The builder code must be a non-zero 0x bytes32 hex string.",
                               code="SEC_BUILDERCODE_MISSING")
        self._signer = signer
        self.maker = maker
        self.chain_id = chain_id
        self.signature_type = signature_type
        self.builder_code = builder_code.lower()
        # fixed for the service's life; read on every order
        self._order_signer = maker if signature_type == SignatureType.POLY_1271 else signer.address
        self._maker_lower = maker.lower()

    @property
    def order_signer(self) -> str:
        """The order's ``signer`` field: the key's address, except for a deposit wallet
        (POLY_1271), where maker and signer are both the wallet and the key is its owner."""
        return self._order_signer

    @property
    def signer_address(self) -> str:
        return self._signer.address

    def prepare(self, plan: ExecutionPlan, step: PlannedOrder, market: MarketSnapshot,
                now_ms: int) -> SigningRequest:
        """Build the unsigned order for `step` (deterministic salt, builder code pinned)."""
        if step not in plan.steps:
            raise SigningError(f"Step {step.client_order_id} is not part of plan {plan.plan_id}.",
                               code="SEC_SIGNING_INVALID")
        if plan.market_id != market.market_id or step.token_id not in (market.yes_token,
                                                                       market.no_token):
            raise SigningError(f"Plan {plan.plan_id} does not belong to market "
                               f"{market.market_id}.", code="SEC_SIGNING_INVALID")
        unsigned = build_order(
            token_id=step.token_id, side=step.side, price=step.price, size=step.size,
            tick=market.tick, maker=self.maker, signer=self.order_signer,
            signature_type=self.signature_type, timestamp_ms=now_ms,
            salt=salt_from_key(step.client_order_id), builder_code=self.builder_code,
            expiration_s=_wire_expiration_s(step),
        )
        return SigningRequest(
            plan=plan, step=step, unsigned=unsigned, chain_id=self.chain_id,
            verifying_contract=verifying_contract(self.chain_id, market.neg_risk),
            domain_name=EIP712_DOMAIN_NAME, domain_version=EIP712_DOMAIN_VERSION,
            neg_risk=market.neg_risk,
        )

    def _recheck(self, request: SigningRequest) -> None:
        if (request.domain_name != EIP712_DOMAIN_NAME
                or request.domain_version != EIP712_DOMAIN_VERSION
                or request.chain_id != self.chain_id):
            raise SigningError("Refusing to sign: the EIP-712 domain is not the CLOB V2 domain "
                               "this service is configured for.", code="SEC_DOMAIN_MISMATCH")
        if request.verifying_contract != verifying_contract(request.chain_id, request.neg_risk):
            raise SigningError(f"Refusing to sign for contract {request.verifying_contract}: it "
                               "is not the allow-listed exchange for this market.",
                               code="SEC_CONTRACT_NOT_ALLOWED")
        order = request.unsigned
        if order.signer != self._order_signer or order.maker.lower() != self._maker_lower:
            raise SigningError("Refusing to sign: the order's maker/signer is not this "
                               "service's wallet.", code="SEC_WALLET_NOT_PERMITTED")
        if order.builder != self.builder_code:
            raise SigningError("Refusing to sign: the order does not carry the pinned builder "
                               "code.", code="SEC_BUILDERCODE_MISSING")

    def sign(self, request: SigningRequest) -> SignedOrderRequest:
        """Sign after re-checking; the signature must recover to this service's signer."""
        self._recheck(request)
        signed, digest, recovers = sign_order_checked(request.unsigned, self._signer, request.chain_id,
                                                      request.neg_risk)
        if not recovers:
            recovered = recover_signer(signed, request.chain_id, request.neg_risk)  # for the message
            raise SigningError(
                f"The signature for {request.step.client_order_id} recovers to {recovered}, "
                f"not the signer {self._signer.address}; it was discarded.",
                code="SEC_SIGNING_INVALID",
            )
        order = request.unsigned
        step = request.step
        fields = {
            "plan_id": request.plan.plan_id, "client_order_id": step.client_order_id,
            "order_hash": digest, "salt": order.salt,
            "maker": order.maker, "signer": order.signer, "token_id": str(order.token_id),
            "maker_amount": order.maker_amount, "taker_amount": order.taker_amount,
            "side": order.side_name, "signature_type": order.signature_type,
            "timestamp_ms": order.timestamp_ms, "metadata": order.metadata, "builder": order.builder,
            "expiration_s": order.expiration, "signature": signed.signature,
            "order_type": step.order_type, "post_only": step.post_only, "chain_id": request.chain_id,
            "verifying_contract": request.verifying_contract, "domain_version": "2",
        }
        if _made_here(request, fields):
            made: SignedOrderRequest = SignedOrderRequest.trusted(**fields)
            return made
        return signed_order_request(fields)

    def verify(self, signed: SignedOrderRequest) -> None:
        verify_signed_order(signed, self._signer.address)


_ORDER_TYPES: Final = frozenset(VenueOrderType.__args__)  # type: ignore[attr-defined]
_EXACT_INTS: Final = ("salt", "maker_amount", "taker_amount", "signature_type", "timestamp_ms",
                      "expiration_s", "chain_id")


def _made_here(request: SigningRequest, fields: dict[str, Any]) -> bool:
    """Whether every field of the signed request already holds what `SignedOrderRequest`
    checks, so it needs no second validation: the order is an `UnsignedOrderV2` (checked when
    built, more strictly than the request's fields: EIP-55 addresses, lowercase bytes32, ints in
    range, a decimal token id), the hash and signature are hex this service just made from
    bytes, the contract is the allow-listed one `_recheck` compared; what is left to look at is
    the plan's and step's strings and flags (the router builds them without validation) and
    that every value is of its exact type. False: `signed_order_request` validates all of it."""
    return (
        type(request.unsigned) is UnsignedOrderV2
        and all(type(fields[name]) is int for name in _EXACT_INTS)
        and type(request.unsigned.token_id) is int
        and type(fields["maker"]) is str and type(fields["signer"]) is str
        and type(fields["metadata"]) is str and type(fields["builder"]) is str
        and type(fields["plan_id"]) is str and type(fields["client_order_id"]) is str
        and type(fields["order_type"]) is str and fields["order_type"] in _ORDER_TYPES
        and type(fields["post_only"]) is bool
        and type(fields["verifying_contract"]) is str
    )


def verify_signed_order(signed: SignedOrderRequest, expected_signer: str) -> None:
    """Raise SigningError unless `signed` is intact and was signed by `expected_signer`."""
    contracts = CHAIN_CONTRACTS.get(signed.chain_id)
    if contracts is None:
        raise SigningError(f"Signed order {signed.client_order_id} names unknown chain "
                           f"{signed.chain_id}.", code="SEC_DOMAIN_MISMATCH")
    by_contract = {contracts.ctf_exchange_v2.lower(): False,
                   contracts.neg_risk_ctf_exchange_v2.lower(): True}
    neg_risk = by_contract.get(signed.verifying_contract.lower())
    if neg_risk is None:
        raise SigningError(f"Signed order {signed.client_order_id} targets contract "
                           f"{signed.verifying_contract}, which is not allow-listed.",
                           code="SEC_CONTRACT_NOT_ALLOWED")
    try:
        order = UnsignedOrderV2(
            salt=signed.salt, maker=signed.maker, signer=signed.signer,
            token_id=int(signed.token_id), maker_amount=signed.maker_amount,
            taker_amount=signed.taker_amount, side=0 if signed.side == "BUY" else 1,
            signature_type=signed.signature_type, timestamp_ms=signed.timestamp_ms,
            metadata=signed.metadata, builder=signed.builder, expiration=signed.expiration_s,
        )
        rebuilt = SignedOrderV2(order=order, signature=signed.signature)
        recovered = recover_signer(rebuilt, signed.chain_id, neg_risk)
        digest = order_hash(order, signed.chain_id, neg_risk)
    except ValueError as exc:
        raise SigningError(f"Signed order {signed.client_order_id} is malformed: {exc}",
                           code="SEC_SIGNING_INVALID") from None
    if recovered != expected_signer or digest != signed.order_hash:
        raise SigningError(
            f"Signed order {signed.client_order_id} does not verify: it recovers to {recovered} "
            f"(expected {expected_signer}) or its hash differs; a field was altered after "
            "signing.", code="SEC_SIGNING_INVALID",
        )


_DEMO_DOMAIN: Final[bytes] = b"polytraders/demo-wallet/SIMULATION-ONLY/v1:"


def demo_signer(seed: int) -> OrderSigner:
    """SIMULATION ONLY: a throwaway key derived from `seed` (sha256). Anyone can recompute it;
    never fund its address or use it against a real venue."""
    counter = 0
    while True:
        material = hashlib.sha256(_DEMO_DOMAIN + f"{seed}:{counter}".encode()).digest()
        try:
            return OrderSigner(material)
        except ValueError:  # pragma: no cover - a digest outside secp256k1's range (~2**-128)
            counter += 1
