"""Constants for CLOB V2 (CTF Exchange V2, pUSD collateral) order signing.

Addresses follow ``py_clob_client_v2.config.get_contract_config`` (1.2.1) and the reference
notes (polymarket-interfaces.md section 5.1).  All addresses are EIP-55 checksummed; a test
re-checksums every one of them.

Only the *V2* exchanges (EIP-712 domain version "2") are on the signing allow-list.  The
retired V1 exchanges and the Protocol-V2 ``ExchangeV3`` (domain version "3") are deliberately
absent: the platform is "V2 only" (polytraders-spec.md section 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType
from typing import Final

from eth_hash.auto import keccak

# --------------------------------------------------------------------------------------------
# Chains
# --------------------------------------------------------------------------------------------
POLYGON_CHAIN_ID: Final[int] = 137
AMOY_CHAIN_ID: Final[int] = 80002

# --------------------------------------------------------------------------------------------
# Contracts
# --------------------------------------------------------------------------------------------
CTF_EXCHANGE_V2: Final[str] = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_CTF_EXCHANGE_V2: Final[str] = "0xe2222d279d744050d28e00520010520000310F59"
PUSD: Final[str] = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
CONDITIONAL_TOKENS_POLYGON: Final[str] = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"
CONDITIONAL_TOKENS_AMOY: Final[str] = "0x69308FB512518e39F9b16112fA8d994F4e2Bf8bB"


@dataclass(frozen=True, slots=True)
class ChainContracts:
    """The contracts an order on one chain refers to."""

    chain_id: int
    ctf_exchange_v2: str
    neg_risk_ctf_exchange_v2: str
    collateral: str
    conditional_tokens: str

    def exchange_for(self, neg_risk: bool) -> str:
        """The verifying contract of an order: Neg Risk exchange iff the market is neg-risk."""
        return self.neg_risk_ctf_exchange_v2 if neg_risk else self.ctf_exchange_v2


# py-clob-client-v2 1.2.1 lists the same V2 exchange and pUSD addresses for Amoy as for
# Polygon; only the conditional-tokens contract differs.
CHAIN_CONTRACTS: Final = MappingProxyType(
    {
        POLYGON_CHAIN_ID: ChainContracts(
            chain_id=POLYGON_CHAIN_ID,
            ctf_exchange_v2=CTF_EXCHANGE_V2,
            neg_risk_ctf_exchange_v2=NEG_RISK_CTF_EXCHANGE_V2,
            collateral=PUSD,
            conditional_tokens=CONDITIONAL_TOKENS_POLYGON,
        ),
        AMOY_CHAIN_ID: ChainContracts(
            chain_id=AMOY_CHAIN_ID,
            ctf_exchange_v2=CTF_EXCHANGE_V2,
            neg_risk_ctf_exchange_v2=NEG_RISK_CTF_EXCHANGE_V2,
            collateral=PUSD,
            conditional_tokens=CONDITIONAL_TOKENS_AMOY,
        ),
    }
)
SUPPORTED_CHAIN_IDS: Final[frozenset[int]] = frozenset(CHAIN_CONTRACTS)

#: The only verifying contracts an order may be signed for.
CONTRACT_ALLOW_LIST: Final[frozenset[str]] = frozenset({CTF_EXCHANGE_V2, NEG_RISK_CTF_EXCHANGE_V2})

# --------------------------------------------------------------------------------------------
# EIP-712
# --------------------------------------------------------------------------------------------
EIP712_DOMAIN_NAME: Final[str] = "Polymarket CTF Exchange"
EIP712_DOMAIN_VERSION: Final[str] = "2"

EIP712_DOMAIN_TYPE_STRING: Final[str] = (
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
EIP712_DOMAIN_TYPE_HASH: Final[bytes] = keccak(EIP712_DOMAIN_TYPE_STRING.encode())

ORDER_TYPE_STRING: Final[str] = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,"
    "uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,"
    "uint256 timestamp,bytes32 metadata,bytes32 builder)"
)
ORDER_TYPE_HASH: Final[bytes] = keccak(ORDER_TYPE_STRING.encode())
ORDER_TYPE_HASH_HEX: Final[str] = "0x" + ORDER_TYPE_HASH.hex()
#: The value the CTF Exchange V2 contract hard-codes (reference section 1.5).
EXPECTED_ORDER_TYPE_HASH_HEX: Final[str] = (
    "0xbb86318a2138f5fa8ae32fbe8e659f8fcf13cc6ae4014a707893055433818589"
)

# POLY_1271 (deposit wallet) orders wrap the order in an ERC-7739 "TypedDataSign" envelope
# whose inner domain is the deposit wallet's (name "DepositWallet", version "1", zero salt).
TYPED_DATA_SIGN_TYPE_STRING: Final[str] = (
    "TypedDataSign(Order contents,string name,string version,uint256 chainId,"
    "address verifyingContract,bytes32 salt)" + ORDER_TYPE_STRING
)
TYPED_DATA_SIGN_TYPE_HASH: Final[bytes] = keccak(TYPED_DATA_SIGN_TYPE_STRING.encode())
DEPOSIT_WALLET_DOMAIN_NAME: Final[str] = "DepositWallet"
DEPOSIT_WALLET_DOMAIN_VERSION: Final[str] = "1"

# --------------------------------------------------------------------------------------------
# Order field values
# --------------------------------------------------------------------------------------------
ZERO_BYTES32: Final[str] = "0x" + "00" * 32

#: Our builder code; every order carries it (polytraders-spec.md section 0).
BUILDER_CODE: Final[str] = "0xb000000000000000000000000000000000000000000000000000000000003f7a"

#: pUSD and outcome shares both have 6 decimals.
TOKEN_DECIMALS: Final[int] = 6

#: Salts go on the wire as a JSON *number*; keep them exactly representable as a double.
MAX_SALT: Final[int] = 2**53 - 1

UINT256_MAX: Final[int] = 2**256 - 1


class OrderSide(IntEnum):
    """Side as signed (uint8)."""

    BUY = 0
    SELL = 1


class SignatureType(IntEnum):
    """Order ``signatureType`` (reference section 1.3)."""

    EOA = 0
    POLY_PROXY = 1
    POLY_GNOSIS_SAFE = 2
    POLY_1271 = 3


ORDER_TYPES: Final[frozenset[str]] = frozenset({"GTC", "GTD", "FOK", "FAK"})
POST_ONLY_ORDER_TYPES: Final[frozenset[str]] = frozenset({"GTC", "GTD"})
