"""EIP-712 order construction and signing for Polymarket CLOB V2 (pUSD, CTF Exchange V2)."""

from polytraders.signing.amounts import (
    ROUNDING_CONFIG,
    SUPPORTED_TICK_SIZES,
    RoundingConfig,
    limit_order_amounts,
    round_size,
    validate_price,
)
from polytraders.signing.constants import (
    BUILDER_CODE,
    CONTRACT_ALLOW_LIST,
    ORDER_TYPE_HASH_HEX,
    ORDER_TYPE_STRING,
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

__all__ = [
    "BUILDER_CODE",
    "CONTRACT_ALLOW_LIST",
    "ORDER_TYPE_HASH_HEX",
    "ORDER_TYPE_STRING",
    "ROUNDING_CONFIG",
    "SUPPORTED_TICK_SIZES",
    "OrderSigner",
    "RoundingConfig",
    "SignatureType",
    "SignedOrderV2",
    "UnsignedOrderV2",
    "build_order",
    "limit_order_amounts",
    "order_hash",
    "recover_signer",
    "round_size",
    "salt_from_key",
    "sign_order",
    "to_wire",
    "validate_price",
    "verifying_contract",
]
