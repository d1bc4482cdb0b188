"""CLOB V2 order construction, EIP-712 hashing, signing and the POST /order wire body.

The signed struct (CTF Exchange V2, EIP-712 domain ``Polymarket CTF Exchange`` / ``"2"``)::

    Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,
          uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,
          bytes32 metadata,bytes32 builder)

``expiration`` travels on the wire but is not part of the signed struct, so changing it does
not change the order hash (= the CLOB order id) nor invalidate the signature.

Every field is a static ABI type, so the struct encoding is simply eleven 32-byte words; it is
assembled by hand here and cross-checked in the tests against py-clob-client-v2's own
``ExchangeOrderBuilderV2`` (which goes through ``eth_account.messages.encode_typed_data``).

Signature types 0/1/2 are a plain 65-byte ECDSA signature over the order digest by the
``signer`` EOA.  Type 3 (POLY_1271, deposit wallet) is the ERC-7739 ``TypedDataSign`` wrapping
that py-clob-client-v2 1.2.1 produces: the deposit wallet's owner key signs a digest that nests
the order hash inside the deposit wallet's own domain, and the signature carries the
application domain separator, the order struct hash and the type string after the 65 bytes.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, NoReturn

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.backends import get_backend
from eth_keys.backends.base import BaseECCBackend
from eth_keys.backends.coincurve import CoinCurveECCBackend
from eth_keys.datatypes import PrivateKey, Signature
from eth_typing import Hash32
from eth_utils.address import is_checksum_address, to_checksum_address

from polytraders.signing.amounts import SideName, limit_order_amounts
from polytraders.signing.constants import (
    CHAIN_CONTRACTS,
    CONTRACT_ALLOW_LIST,
    DEPOSIT_WALLET_DOMAIN_NAME,
    DEPOSIT_WALLET_DOMAIN_VERSION,
    EIP712_DOMAIN_NAME,
    EIP712_DOMAIN_TYPE_HASH,
    EIP712_DOMAIN_VERSION,
    MAX_SALT,
    ORDER_TYPE_HASH,
    ORDER_TYPE_STRING,
    ORDER_TYPES,
    POST_ONLY_ORDER_TYPES,
    TYPED_DATA_SIGN_TYPE_HASH,
    UINT256_MAX,
    ZERO_BYTES32,
    OrderSide,
    SignatureType,
)
from polytraders.signing.keccak import keccak

__all__ = [
    "OrderSigner",
    "SignedOrderV2",
    "UnsignedOrderV2",
    "build_order",
    "order_hash",
    "recover_signer",
    "salt_from_key",
    "sign_order",
    "sign_order_checked",
    "to_wire",
    "verifying_contract",
]

_ADDRESS_RE: Final = re.compile(r"0x[0-9a-fA-F]{40}")
_BYTES32_RE: Final = re.compile(r"0x[0-9a-fA-F]{64}")
_DECIMAL_ID_RE: Final = re.compile(r"[1-9][0-9]*")
# (an even number of digits is checked apart: a repeated two-digit group costs sre about ten
# times a run of one character class)
_HEX_RE: Final = re.compile(r"0x[0-9a-fA-F]*")

# Plausibility windows that catch seconds/milliseconds mix-ups.
_MIN_TIMESTAMP_MS: Final[int] = 10**12  # 2001-09-09 in ms (a seconds value is ~1.7e9)
_MAX_TIMESTAMP_MS: Final[int] = 10**14
_MIN_EXPIRATION_S: Final[int] = 10**9
_MAX_EXPIRATION_S: Final[int] = 10**11  # a milliseconds value (~1.7e12) is refused

_ECDSA_SIGNATURE_LEN: Final[int] = 65
_ORDER_TYPE_BYTES: Final[bytes] = ORDER_TYPE_STRING.encode()
_POLY_1271_SUFFIX_LEN: Final[int] = 32 + 32 + len(_ORDER_TYPE_BYTES) + 2
_DEPOSIT_WALLET_NAME_HASH: Final[bytes] = keccak(DEPOSIT_WALLET_DOMAIN_NAME.encode())
_DEPOSIT_WALLET_VERSION_HASH: Final[bytes] = keccak(DEPOSIT_WALLET_DOMAIN_VERSION.encode())
_EXCHANGE_NAME_HASH: Final[bytes] = keccak(EIP712_DOMAIN_NAME.encode())
_EXCHANGE_VERSION_HASH: Final[bytes] = keccak(EIP712_DOMAIN_VERSION.encode())
_ZERO_WORD: Final[bytes] = bytes(32)


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------
def _fail(field: str, value: object, expected: str) -> NoReturn:
    raise ValueError(f"{field}={value!r} is invalid: expected {expected}")


def _require_int(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(field, value, f"an int in [{low}, {high}]")
    if not low <= value <= high:
        _fail(field, value, f"an int in [{low}, {high}]")
    return value


@lru_cache(maxsize=4096)
def _eip55(value: str) -> str | None:
    """EIP-55 form of a well-formed hex address, or None for a mixed-case bad checksum.

    Cached: the same few addresses are checked on every order, and each check costs keccaks.
    """
    digits = value[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(value):
        return None
    return str(to_checksum_address(value))


def checksum_address(value: str) -> str:
    """EIP-55 form of ``value`` (cached); ValueError if it is malformed or mis-checksummed."""
    return _checksum("address", value)


def _checksum(field: str, value: object) -> str:
    """EIP-55 form of a 0x hex address; a mixed-case input must already carry a valid checksum.

    (eth-utils 6 ``is_address`` no longer checks mixed-case checksums, so it is done here.)
    """
    if not isinstance(value, str) or _ADDRESS_RE.fullmatch(value) is None:
        _fail(field, value, "a 0x-prefixed 20-byte hex address")
    checksummed = _eip55(value)
    if checksummed is None:
        _fail(field, value, "a valid EIP-55 checksum (or an all-lower/upper-case address)")
    return checksummed


def _bytes32(field: str, value: object) -> str:
    if not isinstance(value, str) or _BYTES32_RE.fullmatch(value) is None:
        _fail(field, value, "a 0x-prefixed 32-byte hex string (66 characters)")
    return value.lower()


def _word_uint(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _word_address(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


# --------------------------------------------------------------------------------------------
# Order types
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UnsignedOrderV2:
    """A CLOB V2 order before signing.  Validated on construction.

    Addresses are EIP-55 checksummed, ``metadata`` and ``builder`` lowercase bytes32 hex,
    ``side`` 0 (BUY) / 1 (SELL), ``timestamp_ms`` in milliseconds, ``expiration`` in unix
    seconds (0 = none; on the wire only, not signed).
    """

    salt: int
    maker: str
    signer: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: int
    signature_type: int
    timestamp_ms: int
    metadata: str
    builder: str
    expiration: int = 0

    def __post_init__(self) -> None:
        if _plain(self):  # every check below, passed by exact types and known-good strings
            return
        _require_int("salt", self.salt, 0, MAX_SALT)
        for field in ("maker", "signer"):
            value = getattr(self, field)
            if _checksum(field, value) != value:
                _fail(field, value, "an EIP-55 checksummed address")
        _require_int("token_id", self.token_id, 1, UINT256_MAX)
        _require_int("maker_amount", self.maker_amount, 1, UINT256_MAX)
        _require_int("taker_amount", self.taker_amount, 1, UINT256_MAX)
        _require_int("side", self.side, OrderSide.BUY, OrderSide.SELL)
        _require_int(
            "signature_type", self.signature_type, SignatureType.EOA, SignatureType.POLY_1271
        )
        _require_int("timestamp_ms", self.timestamp_ms, _MIN_TIMESTAMP_MS, _MAX_TIMESTAMP_MS)
        for field in ("metadata", "builder"):
            value = getattr(self, field)
            if _bytes32(field, value) != value:
                _fail(field, value, "lowercase bytes32 hex")
        if self.expiration != 0:
            _require_int("expiration", self.expiration, _MIN_EXPIRATION_S, _MAX_EXPIRATION_S)
            if self.expiration * 1000 <= self.timestamp_ms:
                _fail("expiration", self.expiration, "0 or a unix time (s) after timestamp_ms")
        elif isinstance(self.expiration, bool) or not isinstance(self.expiration, int):
            _fail("expiration", self.expiration, "an int")
        if (
            self.signature_type in (SignatureType.EOA, SignatureType.POLY_1271)
            and self.maker != self.signer
        ):
            _fail(
                "maker",
                self.maker,
                f"maker == signer ({self.signer}) for signature_type {self.signature_type}",
            )

        _remember(_CHECKSUMMED, self.maker, self.signer)
        _remember(_LOWER_BYTES32, self.metadata, self.builder)

    @property
    def side_name(self) -> SideName:
        return "BUY" if self.side == OrderSide.BUY else "SELL"


# Strings an order already passed with: EIP-55 checksummed addresses, lowercase bytes32 hex. The
# same few (our wallet, the builder code, zero metadata) are on every order, and checking them
# again costs more than the rest of the order's checks.
_CHECKSUMMED: set[str] = set()
_LOWER_BYTES32: set[str] = set()


def _remember(known: set[str], *values: str) -> None:
    if len(known) > 1024:  # bounded: a stream of fresh addresses must not grow it forever
        known.clear()
    for value in values:
        if type(value) is str:
            known.add(value)


def _plain(o: UnsignedOrderV2) -> bool:
    """True when ``o`` passes every check of ``UnsignedOrderV2.__post_init__`` in its plain form:
    built-in ints in range, strings already seen valid. False sends it through the full checks
    (which also make the errors), so a False is never a verdict."""
    salt, ts, exp, sig = o.salt, o.timestamp_ms, o.expiration, o.signature_type
    return (
        type(salt) is int and 0 <= salt <= MAX_SALT
        and type(o.maker) is str and o.maker in _CHECKSUMMED
        and type(o.signer) is str and o.signer in _CHECKSUMMED
        and type(o.token_id) is int and 1 <= o.token_id <= UINT256_MAX
        and type(o.maker_amount) is int and 1 <= o.maker_amount <= UINT256_MAX
        and type(o.taker_amount) is int and 1 <= o.taker_amount <= UINT256_MAX
        and type(o.side) is int and 0 <= o.side <= 1
        and type(sig) is int and 0 <= sig <= 3
        and type(ts) is int and _MIN_TIMESTAMP_MS <= ts <= _MAX_TIMESTAMP_MS
        and type(o.metadata) is str and o.metadata in _LOWER_BYTES32
        and type(o.builder) is str and o.builder in _LOWER_BYTES32
        and type(exp) is int and (exp == 0 or (_MIN_EXPIRATION_S <= exp <= _MAX_EXPIRATION_S
                                              and exp * 1000 > ts))
        and (sig not in (0, 3) or o.maker == o.signer)
    )


@dataclass(frozen=True, slots=True)
class SignedOrderV2:
    """An order with its 0x-hex signature (65 bytes, or the longer POLY_1271 envelope)."""

    order: UnsignedOrderV2
    signature: str

    def __post_init__(self) -> None:
        if not isinstance(self.order, UnsignedOrderV2):
            _fail("order", type(self.order).__name__, "an UnsignedOrderV2")
        if (not isinstance(self.signature, str) or _HEX_RE.fullmatch(self.signature) is None
                or len(self.signature) % 2):
            _fail("signature", self.signature, "0x-prefixed hex")
        length = (len(self.signature) - 2) // 2
        expected = _ECDSA_SIGNATURE_LEN
        if self.order.signature_type == SignatureType.POLY_1271:
            expected += _POLY_1271_SUFFIX_LEN
        if length != expected:
            _fail("signature", f"<{length} bytes>", f"{expected} bytes")


class OrderSigner:
    """Holds the EOA key that signs orders.  Never reveals the key.

    ``repr``/``str`` show only the address; the object cannot be pickled or copied.
    """

    __slots__ = ("__account", "__address", "__key", "__public")

    def __init__(self, private_key: str | bytes) -> None:
        account: LocalAccount | None
        try:
            account = Account.from_key(private_key)
        except Exception:
            account = None
        if account is None:
            # Raised outside the handler so neither __cause__ nor __context__ links to the
            # underlying error, which may quote the key material.
            raise ValueError(
                "private_key is invalid: expected 32 bytes or 0x-prefixed 64 hex chars "
                "(value withheld)"
            )
        self.__keep(account)

    def __keep(self, account: LocalAccount) -> None:
        self.__account = account
        # read on every order (the signer field, the re-check): eth-account derives nothing
        # here, but the property chain and str() cost more than the read itself
        self.__address = str(account.address)
        # The key parsed once: eth-account parses a key given as bytes (deriving its public
        # key, a scalar multiplication) on every signature; given the parsed key, it does not.
        self.__key = PrivateKey(account.key, backend=_backend_for(account.key))
        self.__public = self.__key.public_key.to_bytes()

    @classmethod
    def from_account(cls, account: LocalAccount) -> OrderSigner:
        if not isinstance(account, LocalAccount):
            raise TypeError("account is invalid: expected an eth_account LocalAccount")
        signer = cls.__new__(cls)
        signer.__keep(account)
        return signer

    @property
    def address(self) -> str:
        """The EIP-55 checksummed address of the key."""
        return self.__address

    def sign_digest(self, digest: bytes) -> bytes:
        """65-byte ``r || s || v`` (v = 27/28) ECDSA signature of a 32-byte digest."""
        if not isinstance(digest, bytes) or len(digest) != 32:
            raise ValueError("digest is invalid: expected exactly 32 bytes")
        backend = self.__key.backend
        if isinstance(backend, _KeptKeyBackend):
            return backend.eth_signature(digest)
        return bytes(Account.unsafe_sign_hash(Hash32(digest), private_key=self.__key).signature)

    def recovers(self, digest: bytes, signature: bytes) -> bool:
        """Whether the 65-byte ``r || s || v`` (v = 27/28) ``signature`` of ``digest`` recovers
        to this key: the public key recovered from it is this key's public key (so its address
        is this key's address, without hashing the recovered key into an address)."""
        if len(digest) != 32 or len(signature) != _ECDSA_SIGNATURE_LEN or signature[64] not in (27, 28):
            return False
        backend = self.__key.backend
        if isinstance(backend, _KeptKeyBackend):
            return backend.recovered_public(digest, signature) == self.__public
        try:
            recovered = Signature(signature[:64] + bytes((signature[64] - 27,)), backend=self.__key.backend)\
                .recover_public_key_from_msg_hash(digest)
        except Exception:
            return False
        return recovered.to_bytes() == self.__public

    def __repr__(self) -> str:
        return f"OrderSigner(address={self.address})"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("OrderSigner cannot be pickled or copied")


_ETH_V: Final = (b"\x1b", b"\x1c")  # libsecp256k1's recovery id 0/1 as Ethereum's v 27/28


class _KeptKeyBackend(CoinCurveECCBackend):
    """eth-keys' coincurve backend holding one key's libsecp256k1 form. The stock backend
    rebuilds it from the key's bytes on every signature, and coincurve derives two public keys
    (two scalar multiplications, about a fifth of a signature's cost) each time it is built.
    Any other key is signed the stock way."""

    def __init__(self, secret: bytes) -> None:
        super().__init__()
        self.__secret = secret
        self.__prepared = self.keys.PrivateKey(secret)

    def ecdsa_sign(self, msg_hash: bytes, private_key: PrivateKey) -> Signature:
        if not hmac.compare_digest(private_key.to_bytes(), self.__secret):  # constant time: a secret
            return super().ecdsa_sign(msg_hash, private_key)
        return Signature(self.__prepared.sign_recoverable(msg_hash, hasher=None), backend=self)

    def eth_signature(self, digest: bytes) -> bytes:
        """The kept key's ``r || s || v`` (v = 27/28) signature of a 32-byte digest: the bytes
        eth-account's ``unsafe_sign_hash`` returns for it (libsecp256k1's recoverable signature,
        its recovery id moved to Ethereum's v), without the hex, integer and signature objects
        eth-account and eth-keys build and take apart around the one call."""
        raw: bytes = self.__prepared.sign_recoverable(digest, hasher=None)
        return raw[:64] + _ETH_V[raw[64]]

    def recovered_public(self, digest: bytes, signature: bytes) -> bytes | None:
        """The 64-byte public key libsecp256k1 recovers from a 65-byte ``r || s || v``
        (v = 27/28) signature of ``digest``, or None when nothing recovers (r or s out of
        range or zero, no point for r: what eth-keys' own recovery refuses, without building
        its signature and key objects around the call)."""
        try:
            recoverable = signature[:64] + bytes((signature[64] - 27,))
            point = self.keys.PublicKey.from_signature_and_message(recoverable, digest, hasher=None)
        except Exception:
            return None
        return bytes(point.format(compressed=False)[1:])

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a signing backend cannot be pickled or copied")


def _backend_for(secret: bytes) -> BaseECCBackend:
    """The ECC backend a key signs with: eth-keys' own (resolved once, not per use), given the
    key's prepared form when that backend is coincurve's."""
    backend = get_backend()
    if type(backend) is CoinCurveECCBackend:
        return _KeptKeyBackend(bytes(secret))
    return backend


# --------------------------------------------------------------------------------------------
# Construction
# --------------------------------------------------------------------------------------------
def salt_from_key(key: str | bytes) -> int:
    """A deterministic salt in ``[0, 2**53)`` from an idempotency key (e.g. the intent id)."""
    raw = key.encode() if isinstance(key, str) else bytes(key)
    return int.from_bytes(keccak(b"polytraders/order-salt/v1:" + raw)[:8], "big") & MAX_SALT


def build_order(
    *,
    token_id: str,
    side: SideName,
    price: Decimal,
    size: Decimal,
    tick: Decimal,
    maker: str,
    signer: str,
    signature_type: int,
    timestamp_ms: int,
    salt: int,
    builder_code: str,
    expiration_s: int = 0,
    metadata: str = ZERO_BYTES32,
) -> UnsignedOrderV2:
    """Build an unsigned limit order.

    Amounts come from :func:`polytraders.signing.amounts.limit_order_amounts` (price must be
    on the tick grid; size is rounded down to 2 decimals).  ``builder_code`` must be a non-zero
    bytes32: every platform order carries a builder code.  ``salt`` is supplied by the caller
    (derive it from the intent, e.g. :func:`salt_from_key`) and must be < 2**53.
    """
    if not isinstance(token_id, str) or _DECIMAL_ID_RE.fullmatch(token_id) is None:
        _fail("token_id", token_id, "a decimal string without sign or leading zeros")
    # a string already seen valid (`_known`) is its own checked form
    builder = _known(_LOWER_BYTES32, builder_code) or _bytes32("builder_code", builder_code)
    if builder == ZERO_BYTES32:
        _fail("builder_code", builder_code, "a non-zero bytes32 builder code")
    sig_type = _require_int(
        "signature_type", signature_type, SignatureType.EOA, SignatureType.POLY_1271
    )
    maker_amount, taker_amount = limit_order_amounts(side, price, size, tick)
    return UnsignedOrderV2(
        salt=salt,
        maker=_known(_CHECKSUMMED, maker) or _checksum("maker", maker),
        signer=_known(_CHECKSUMMED, signer) or _checksum("signer", signer),
        token_id=int(token_id),
        maker_amount=maker_amount,
        taker_amount=taker_amount,
        side=0 if side == "BUY" else 1,
        signature_type=int(sig_type),
        timestamp_ms=timestamp_ms,
        metadata=_known(_LOWER_BYTES32, metadata) or _bytes32("metadata", metadata),
        builder=builder,
        expiration=expiration_s,
    )


def _known(known: set[str], value: object) -> str | None:
    return value if type(value) is str and value in known else None


# --------------------------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------------------------
def verifying_contract(chain_id: int, neg_risk: bool) -> str:
    """The exchange an order on ``chain_id`` is signed for; must be on the allow-list."""
    known = _known_domain(chain_id, neg_risk)
    if known is not None:  # looked up three times an order (prepare, re-check, digest)
        return known[0]
    contracts = CHAIN_CONTRACTS.get(chain_id)
    if contracts is None or isinstance(chain_id, bool):
        _fail("chain_id", chain_id, f"one of {sorted(CHAIN_CONTRACTS)}")
    if not isinstance(neg_risk, bool):
        _fail("neg_risk", neg_risk, "a bool")
    contract = contracts.exchange_for(neg_risk)
    if contract not in CONTRACT_ALLOW_LIST:
        _fail("verifying_contract", contract, "an address in CONTRACT_ALLOW_LIST")
    return contract


@lru_cache(maxsize=16)
def _domain_separator(chain_id: int, contract: str) -> bytes:
    return keccak(
        EIP712_DOMAIN_TYPE_HASH
        + _EXCHANGE_NAME_HASH
        + _EXCHANGE_VERSION_HASH
        + _word_uint(chain_id)
        + _word_address(contract)
    )


def _known_domain(chain_id: object, neg_risk: object) -> tuple[str, bytes] | None:
    """`_DOMAINS`' entry for a supported pair given as exactly an int and a bool, else None
    (the caller then checks and fails as `verifying_contract` always did)."""
    if type(chain_id) is int and type(neg_risk) is bool:
        return _DOMAINS.get((chain_id, neg_risk))
    return None


# (chain id, neg risk) -> (the verifying contract, its domain separator), for every supported
# chain: what `verifying_contract` and `_domain_separator` answer for them, worked out once
_DOMAINS: dict[tuple[int, bool], tuple[str, bytes]] = {}
for _chain in CHAIN_CONTRACTS:
    for _neg_risk in (False, True):
        _contract = verifying_contract(_chain, _neg_risk)
        _DOMAINS[(_chain, _neg_risk)] = (_contract, _domain_separator(_chain, _contract))
del _chain, _neg_risk, _contract


def _domain(chain_id: int, neg_risk: bool) -> bytes:
    """The domain separator of the exchange an order on ``chain_id`` is signed for
    (`verifying_contract`'s checks and errors), looked up for the known pairs."""
    known = _known_domain(chain_id, neg_risk)
    if known is not None:
        return known[1]
    return _domain_separator(chain_id, verifying_contract(chain_id, neg_risk))


def _struct_hash(order: UnsignedOrderV2) -> bytes:
    # one join of the eleven words: the integers' words made in place, the strings' (our
    # wallet, the builder code, zero metadata: the same few on every order) looked up
    word = _word_of
    return keccak(b"".join((
        ORDER_TYPE_HASH,
        order.salt.to_bytes(32, "big"),
        word(order.maker),
        word(order.signer),
        order.token_id.to_bytes(32, "big"),
        order.maker_amount.to_bytes(32, "big"),
        order.taker_amount.to_bytes(32, "big"),
        order.side.to_bytes(32, "big"),
        order.signature_type.to_bytes(32, "big"),
        order.timestamp_ms.to_bytes(32, "big"),
        word(order.metadata),
        word(order.builder),
    )))


# An address's or a bytes32's ABI word (left-padded to 32 bytes), by its 0x hex string
_WORDS: dict[str, bytes] = {}


def _word_of(value: str) -> bytes:
    """The ABI word of a checked 0x hex address (20 bytes) or bytes32, cached: bounded, so a
    stream of fresh addresses cannot grow it forever."""
    word = _WORDS.get(value)
    if word is None:
        if len(_WORDS) >= 1024:
            _WORDS.clear()
        word = _WORDS[value] = bytes.fromhex(value[2:]).rjust(32, b"\0")
    return word


def _digest(domain_separator: bytes, struct_hash: bytes) -> bytes:
    return keccak(b"\x19\x01" + domain_separator + struct_hash)


def _poly_1271_digest(
    order: UnsignedOrderV2, chain_id: int, domain_separator: bytes, struct_hash: bytes
) -> bytes:
    wrapped = keccak(
        TYPED_DATA_SIGN_TYPE_HASH
        + struct_hash
        + _DEPOSIT_WALLET_NAME_HASH
        + _DEPOSIT_WALLET_VERSION_HASH
        + _word_uint(chain_id)
        + _word_address(order.signer)
        + _ZERO_WORD
    )
    return _digest(domain_separator, wrapped)


def _poly_1271_suffix(domain_separator: bytes, struct_hash: bytes) -> bytes:
    return (
        domain_separator
        + struct_hash
        + _ORDER_TYPE_BYTES
        + len(_ORDER_TYPE_BYTES).to_bytes(2, "big")
    )


def _require_order(order: object) -> UnsignedOrderV2:
    if not isinstance(order, UnsignedOrderV2):
        _fail("order", type(order).__name__, "an UnsignedOrderV2")
    return order


def order_hash(order: UnsignedOrderV2, chain_id: int, neg_risk: bool) -> str:
    """The EIP-712 digest of ``order`` (0x hex); the CLOB uses it as the order id."""
    _require_order(order)
    domain = _domain(chain_id, neg_risk)
    return "0x" + _digest(domain, _struct_hash(order)).hex()


# --------------------------------------------------------------------------------------------
# Signing and recovery
# --------------------------------------------------------------------------------------------
def sign_order(
    order: UnsignedOrderV2, private_key_signer: OrderSigner, chain_id: int, neg_risk: bool
) -> SignedOrderV2:
    """Sign ``order`` for the V2 exchange of ``chain_id`` (Neg Risk exchange iff ``neg_risk``).

    For signature types 0/1/2 the key's address must be ``order.signer``.  For POLY_1271 the
    key is the deposit wallet's owner and ``order.signer`` is the deposit wallet.
    """
    _require_order(order)
    if not isinstance(private_key_signer, OrderSigner):
        _fail("private_key_signer", type(private_key_signer).__name__, "an OrderSigner")
    if order.builder == ZERO_BYTES32:
        _fail("builder", order.builder, "a non-zero builder code on every order")
    domain = _domain(chain_id, neg_risk)
    struct_hash = _struct_hash(order)
    if order.signature_type == SignatureType.POLY_1271:
        digest = _poly_1271_digest(order, chain_id, domain, struct_hash)
        raw = private_key_signer.sign_digest(digest) + _poly_1271_suffix(domain, struct_hash)
    else:
        if private_key_signer.address != order.signer:
            _fail(
                "order.signer",
                order.signer,
                f"the signing key's address {private_key_signer.address}",
            )
        raw = private_key_signer.sign_digest(_digest(domain, struct_hash))
    return SignedOrderV2(order=order, signature="0x" + raw.hex())


def sign_order_checked(
    order: UnsignedOrderV2, private_key_signer: OrderSigner, chain_id: int, neg_risk: bool
) -> tuple[SignedOrderV2, str, bool]:
    """``sign_order``, plus the order hash and whether the signature recovers to the signer:
    ``(signed, order_hash, recovers)``. The order's digest is computed once for all three
    (the signature is over it, the hash is it, the recovery starts from it).

    ``recovers`` means what ``recover_signer(signed, ...) == private_key_signer.address``
    means; POLY_1271 orders are answered by exactly that (the owner key signs a wrapped digest).
    """
    _require_order(order)
    if order.signature_type == SignatureType.POLY_1271 or not isinstance(private_key_signer, OrderSigner):
        signed = sign_order(order, private_key_signer, chain_id, neg_risk)
        recovered = recover_signer(signed, chain_id, neg_risk)
        return signed, order_hash(order, chain_id, neg_risk), recovered == private_key_signer.address
    if order.builder == ZERO_BYTES32:
        _fail("builder", order.builder, "a non-zero builder code on every order")
    if private_key_signer.address != order.signer:
        _fail("order.signer", order.signer, f"the signing key's address {private_key_signer.address}")
    digest = _digest(_domain(chain_id, neg_risk), _struct_hash(order))
    raw = private_key_signer.sign_digest(digest)
    return _signed_ecdsa(order, raw), "0x" + digest.hex(), private_key_signer.recovers(digest, raw)


def _signed_ecdsa(order: UnsignedOrderV2, raw: bytes) -> SignedOrderV2:
    """``SignedOrderV2(order, "0x" + raw.hex())`` for a 65-byte signature of a type 0-2 order
    (`sign_order_checked`'s, from `OrderSigner.sign_digest`): everything its checks look at
    holds by construction (hex made from bytes, 65 of them for a plain ECDSA order), so the
    132-character hex is not scanned again. Anything else is built and checked as usual."""
    if (type(raw) is not bytes or len(raw) != _ECDSA_SIGNATURE_LEN or type(order) is not UnsignedOrderV2
            or order.signature_type == SignatureType.POLY_1271):
        return SignedOrderV2(order=order, signature="0x" + raw.hex())
    signed = object.__new__(SignedOrderV2)
    object.__setattr__(signed, "order", order)
    object.__setattr__(signed, "signature", "0x" + raw.hex())
    return signed


def recover_signer(signed: SignedOrderV2, chain_id: int, neg_risk: bool) -> str:
    """The checksummed address whose key produced ``signed.signature``.

    Types 0/1/2: this should equal ``signed.order.signer``.  POLY_1271: it is the deposit
    wallet's owner EOA (the envelope's domain separator, struct hash and type string are
    checked too; ValueError if they do not match the order).
    """
    if not isinstance(signed, SignedOrderV2):
        _fail("signed", type(signed).__name__, "a SignedOrderV2")
    order = signed.order
    domain = _domain(chain_id, neg_risk)
    struct_hash = _struct_hash(order)
    raw = bytes.fromhex(signed.signature[2:])
    ecdsa = raw[:_ECDSA_SIGNATURE_LEN]
    if order.signature_type == SignatureType.POLY_1271:
        if raw[_ECDSA_SIGNATURE_LEN:] != _poly_1271_suffix(domain, struct_hash):
            _fail("signature", "<POLY_1271 envelope>", "an envelope for this order and domain")
        digest = _poly_1271_digest(order, chain_id, domain, struct_hash)
    else:
        digest = _digest(domain, struct_hash)
    try:
        recovered = Account._recover_hash(Hash32(digest), signature=ecdsa)
    except Exception:
        raise ValueError("signature is invalid: expected a recoverable ECDSA signature") from None
    return str(recovered)


# --------------------------------------------------------------------------------------------
# Wire format
# --------------------------------------------------------------------------------------------
def to_wire(
    signed: SignedOrderV2,
    owner_api_key: str,
    order_type: str,
    post_only: bool,
    defer_exec: bool = False,
) -> dict[str, Any]:
    """The ``POST /order`` JSON body (same keys, order and value types as py-clob-client-v2).

    Policy checks: ``order_type`` in GTC/GTD/FOK/FAK; ``post_only`` only with GTC/GTD; GTD
    needs a non-zero expiration and the other types a zero one.
    """
    if not isinstance(signed, SignedOrderV2):
        _fail("signed", type(signed).__name__, "a SignedOrderV2")
    if not isinstance(owner_api_key, str) or not owner_api_key.strip():
        _fail("owner_api_key", owner_api_key, "the non-empty API key id")
    if order_type not in ORDER_TYPES:
        _fail("order_type", order_type, f"one of {sorted(ORDER_TYPES)}")
    if not isinstance(post_only, bool) or not isinstance(defer_exec, bool):
        _fail("post_only/defer_exec", (post_only, defer_exec), "bools")
    if post_only and order_type not in POST_ONLY_ORDER_TYPES:
        _fail("post_only", post_only, f"False for order_type {order_type} (GTC/GTD only)")
    order = signed.order
    if order_type == "GTD" and order.expiration == 0:
        _fail("expiration", order.expiration, "a non-zero unix time (s) for a GTD order")
    if order_type != "GTD" and order.expiration != 0:
        _fail("expiration", order.expiration, f"0 for a {order_type} order (GTD only)")
    return {
        "order": {
            "salt": order.salt,
            "maker": order.maker,
            "signer": order.signer,
            "tokenId": str(order.token_id),
            "makerAmount": str(order.maker_amount),
            "takerAmount": str(order.taker_amount),
            "side": order.side_name,
            "expiration": str(order.expiration),
            "signatureType": int(order.signature_type),
            "timestamp": str(order.timestamp_ms),
            "metadata": order.metadata,
            "builder": order.builder,
            "signature": signed.signature,
        },
        "owner": owner_api_key,
        "orderType": order_type,
        "deferExec": defer_exec,
        "postOnly": post_only,
    }
