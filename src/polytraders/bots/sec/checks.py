"""The Security checks, in the order the pipeline runs them (after Execution, before signing).

The contract and domain come first: if the order would be signed for the wrong exchange, who
signs it no longer matters.
"""

from __future__ import annotations

from typing import Final

from polytraders.bots.sec.contract_address_guard import ContractAddressGuard
from polytraders.bots.sec.wallet_permission_guard import WalletPermissionGuard

SECURITY_CHECKS_IN_ORDER: Final = (ContractAddressGuard, WalletPermissionGuard)

__all__ = ["SECURITY_CHECKS_IN_ORDER", "ContractAddressGuard", "WalletPermissionGuard"]
