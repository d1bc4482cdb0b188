"""L1 (ClobAuth EIP-712) and L2 (HMAC) authentication, and the API-key registry.

L1: ``POST /auth/api-key`` and ``GET /auth/derive-api-key`` carry ``POLY_ADDRESS``,
``POLY_SIGNATURE``, ``POLY_TIMESTAMP`` and ``POLY_NONCE``.  The signature is EIP-712 over
``ClobAuth(address address,string timestamp,uint256 nonce,string message)`` in the domain
``ClobAuthDomain`` / ``"1"`` / chain id (no verifying contract); it must recover to the address.

Credentials are a pure function of (server secret, address, nonce): an HMAC, so deriving twice,
or after a restart with the same seed, gives the same key.  Creating a key that already exists
is refused (``Could not create api key``), which sends the official client's
``create_or_derive_api_key`` to derive, as against the real CLOB.

L2: the five ``POLY_*`` headers; the signature is url-safe base64 HMAC-SHA256 keyed by the
url-safe-base64-decoded secret over ``timestamp + METHOD + path (no query) + body``, with the
timestamp within ``window_s`` of the *wall* clock (simulated exchange time does not apply).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from eth_account import Account
from eth_hash.auto import keccak
from eth_typing import Hash32
from eth_utils.address import to_checksum_address

from polytraders.exchange.errors import ApiError, unauthorized

CLOB_AUTH_MESSAGE: Final = "This message attests that I control the given wallet"
_DOMAIN_TYPE_HASH: Final = keccak(b"EIP712Domain(string name,string version,uint256 chainId)")
_CLOB_AUTH_TYPE_HASH: Final = keccak(b"ClobAuth(address address,string timestamp,uint256 nonce,string message)")
_MAX_NONCE: Final = 2**256 - 1


def clob_auth_digest(address: str, timestamp: str, nonce: int, chain_id: int) -> bytes:
    """The EIP-712 digest an L1 header signature covers."""
    domain = keccak(
        _DOMAIN_TYPE_HASH + keccak(b"ClobAuthDomain") + keccak(b"1") + chain_id.to_bytes(32, "big")
    )
    struct = keccak(
        _CLOB_AUTH_TYPE_HASH
        + bytes(12)
        + bytes.fromhex(address[2:])
        + keccak(timestamp.encode())
        + nonce.to_bytes(32, "big")
        + keccak(CLOB_AUTH_MESSAGE.encode())
    )
    return keccak(b"\x19\x01" + domain + struct)


def hmac_signature(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    """What an L2 client puts in ``POLY_SIGNATURE`` (same recipe as py-clob-client-v2)."""
    key = base64.urlsafe_b64decode(secret)
    # The clients turn single quotes into double quotes before signing (a stringified dict).
    message = f"{timestamp}{method}{path}{body.replace(chr(39), chr(34))}"
    return base64.urlsafe_b64encode(hmac.new(key, message.encode(), hashlib.sha256).digest()).decode()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One set of L2 credentials, bound to the signer address it was derived for."""

    api_key: str
    secret: str
    passphrase: str
    address: str  # checksummed
    nonce: int

    def as_json(self) -> dict[str, str]:
        return {"apiKey": self.api_key, "secret": self.secret, "passphrase": self.passphrase}


class KeyRegistry:
    """Derives, remembers and checks API keys."""

    def __init__(self, server_secret: bytes, chain_id: int, window_s: int) -> None:
        self._secret = server_secret
        self._chain_id = chain_id
        self._window_s = window_s
        self._by_key: dict[str, ApiKey] = {}
        self._created: set[tuple[str, int]] = set()
        self._addresses: set[str] = set()

    def derive(self, address: str, nonce: int) -> ApiKey:
        material = hmac.new(self._secret, f"{address.lower()}:{nonce}".encode(), hashlib.sha256).digest()
        more = hmac.new(self._secret, material, hashlib.sha256).digest()
        key = ApiKey(
            api_key=str(uuid.UUID(bytes=material[:16], version=4)),
            secret=base64.urlsafe_b64encode(more).decode(),
            passphrase=hashlib.sha256(material + more).hexdigest(),
            address=to_checksum_address(address),
            nonce=nonce,
        )
        self._by_key[key.api_key] = key
        self._addresses.add(address.lower())
        return key

    def create(self, address: str, nonce: int) -> ApiKey:
        slot = (address.lower(), nonce)
        if slot in self._created:
            raise ApiError(400, "Could not create api key")
        self._created.add(slot)
        return self.derive(address, nonce)

    def has_address(self, address: str) -> bool:
        """Whether ``address`` (any case) holds API keys here, i.e. is a signing EOA."""
        return address.lower() in self._addresses

    def forget(self, api_key: str) -> None:
        """``DELETE /auth/api-key``: the key stops working (deriving it again restores it)."""
        key = self._by_key.pop(api_key, None)
        if key is not None:
            self._created.discard((key.address.lower(), key.nonce))

    def lookup(self, api_key: str) -> ApiKey | None:
        return self._by_key.get(api_key)

    def check_ws_auth(self, api_key: str, secret: str, passphrase: str) -> ApiKey | None:
        """The user channel authenticates with the raw credentials."""
        key = self._by_key.get(api_key)
        if key is None or not hmac.compare_digest(key.secret, secret):
            return None
        if not hmac.compare_digest(key.passphrase, passphrase):
            return None
        return key

    # -- header checks ----------------------------------------------------------------------
    def _fresh(self, timestamp: str) -> None:
        try:
            ts = int(timestamp)
        except ValueError:
            raise unauthorized("Invalid L1 Request headers") from None
        if abs(time.time() - ts) > self._window_s:
            raise unauthorized()

    def check_l1(self, headers: Mapping[str, str]) -> tuple[str, int]:
        """Verified (checksummed address, nonce) of an L1 request, or 401."""
        address = headers.get("poly_address", "")
        signature = headers.get("poly_signature", "")
        timestamp = headers.get("poly_timestamp", "")
        nonce_text = headers.get("poly_nonce", "0") or "0"
        if not (address and signature and timestamp):
            raise unauthorized("Invalid L1 Request headers")
        try:
            nonce = int(nonce_text)
            if not 0 <= nonce <= _MAX_NONCE:
                raise ValueError(nonce_text)
            checksummed = to_checksum_address(address)
            digest = clob_auth_digest(checksummed, timestamp, nonce, self._chain_id)
            recovered = Account._recover_hash(Hash32(digest), signature=bytes.fromhex(signature.removeprefix("0x")))
        except Exception:
            raise unauthorized("Invalid L1 Request headers") from None
        if recovered != checksummed:
            raise unauthorized("Invalid L1 Request headers")
        self._fresh(timestamp)
        return checksummed, nonce

    def check_l2(self, headers: Mapping[str, str], method: str, path: str, body: str) -> ApiKey:
        """The API key of a correctly signed L2 request, or 401."""
        api_key = headers.get("poly_api_key", "")
        key = self._by_key.get(api_key)
        if key is None:
            raise unauthorized()
        if not hmac.compare_digest(headers.get("poly_passphrase", ""), key.passphrase):
            raise unauthorized()
        if headers.get("poly_address", "").lower() != key.address.lower():
            raise unauthorized()
        timestamp = headers.get("poly_timestamp", "")
        self._fresh(timestamp)
        expected = hmac_signature(key.secret, timestamp, method, path, body)
        if not hmac.compare_digest(headers.get("poly_signature", ""), expected):
            raise unauthorized()
        return key
