"""Constants: type hash, addresses and domain against the reference and py-clob-client-v2."""

from __future__ import annotations

from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address
from py_clob_client_v2.config import get_contract_config  # type: ignore[import-untyped]
from py_clob_client_v2.order_utils import exchange_order_builder_v2 as official_builder  # type: ignore[import-untyped]
from py_clob_client_v2.order_utils.model.ctf_exchange_v2_typed_data import (  # type: ignore[import-untyped]
    CTF_EXCHANGE_V2_DOMAIN_NAME,
    CTF_EXCHANGE_V2_DOMAIN_VERSION,
    CTF_EXCHANGE_V2_ORDER_STRUCT,
)

from polytraders.signing import constants as c


def test_order_type_hash_matches_contract_constant() -> None:
    assert (
        "0x" + keccak(c.ORDER_TYPE_STRING.encode()).hex()
        == "0xbb86318a2138f5fa8ae32fbe8e659f8fcf13cc6ae4014a707893055433818589"
    )
    assert c.ORDER_TYPE_HASH_HEX == c.EXPECTED_ORDER_TYPE_HASH_HEX


def test_order_type_string_matches_official_struct() -> None:
    fields = ",".join(f"{f['type']} {f['name']}" for f in CTF_EXCHANGE_V2_ORDER_STRUCT)
    assert f"Order({fields})" == c.ORDER_TYPE_STRING
    assert c.ORDER_TYPE_STRING == official_builder.ORDER_TYPE_STRING
    assert c.ORDER_TYPE_HASH == official_builder.ORDER_TYPE_HASH
    assert c.TYPED_DATA_SIGN_TYPE_HASH == official_builder.SOLADY_TYPE_HASH
    assert c.EIP712_DOMAIN_TYPE_HASH == official_builder.DOMAIN_TYPE_HASH


def test_domain_name_and_version() -> None:
    assert c.EIP712_DOMAIN_NAME == "Polymarket CTF Exchange" == CTF_EXCHANGE_V2_DOMAIN_NAME
    assert c.EIP712_DOMAIN_VERSION == "2" == CTF_EXCHANGE_V2_DOMAIN_VERSION


def test_chain_ids() -> None:
    assert c.POLYGON_CHAIN_ID == 137
    assert c.AMOY_CHAIN_ID == 80002
    assert {137, 80002} == c.SUPPORTED_CHAIN_IDS


def test_addresses_are_checksummed() -> None:
    for contracts in c.CHAIN_CONTRACTS.values():
        for address in (
            contracts.ctf_exchange_v2,
            contracts.neg_risk_ctf_exchange_v2,
            contracts.collateral,
            contracts.conditional_tokens,
        ):
            assert to_checksum_address(address) == address


def test_addresses_match_official_client_and_reference() -> None:
    for chain_id in (137, 80002):
        official = get_contract_config(chain_id)
        ours = c.CHAIN_CONTRACTS[chain_id]
        assert ours.ctf_exchange_v2 == official.exchange_v2
        assert ours.neg_risk_ctf_exchange_v2 == official.neg_risk_exchange_v2
        assert ours.collateral == official.collateral
        assert ours.conditional_tokens == official.conditional_tokens
    # Reference section 5.1 / 1.12 (Polygon).
    polygon = c.CHAIN_CONTRACTS[137]
    assert polygon.ctf_exchange_v2 == "0xE111180000d2663C0091e4f400237545B87B996B"
    assert polygon.neg_risk_ctf_exchange_v2 == "0xe2222d279d744050d28e00520010520000310F59"
    assert polygon.collateral == "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
    assert polygon.conditional_tokens == "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"


def test_allow_list_is_exactly_the_v2_exchanges() -> None:
    assert {
        "0xE111180000d2663C0091e4f400237545B87B996B",
        "0xe2222d279d744050d28e00520010520000310F59",
    } == c.CONTRACT_ALLOW_LIST
    official = get_contract_config(137)
    for retired_or_other in (
        official.exchange,  # V1
        official.neg_risk_exchange,  # V1
        official.exchange_v3,  # Protocol V2, domain "3"
        official.collateral,
        official.conditional_tokens,
    ):
        assert retired_or_other not in c.CONTRACT_ALLOW_LIST
    for contracts in c.CHAIN_CONTRACTS.values():
        assert contracts.exchange_for(False) in c.CONTRACT_ALLOW_LIST
        assert contracts.exchange_for(True) in c.CONTRACT_ALLOW_LIST


def test_builder_code() -> None:
    assert c.BUILDER_CODE == "0xb000000000000000000000000000000000000000000000000000000000003f7a"
    assert len(c.BUILDER_CODE) == 66
    assert c.ZERO_BYTES32 == "0x" + "0" * 64
