"""sec.contract_address_guard — only sign for the CTF Exchange V2 under the CLOB V2 domain.

Purpose: before any signature, check that the order's EIP-712 verifying contract is on the CTF
Exchange V2 allow-list *and* is the exchange that matches the market's neg_risk flag on the
request's chain (the Neg Risk exchange for neg-risk markets, the plain one otherwise), and that
the domain is exactly name "Polymarket CTF Exchange", version "2", on the configured chain.
Inputs:  `SigningRequest` (polytraders.execution.signer_service).
Outputs: `RiskVote` — APPROVE (SEC_CHECK_PASSED) or REJECT; never RESHAPE_REQUIRED (a wrong
         contract or domain cannot be downsized into a right one). Risk-reducing and close-only
         orders get no exemption: a SELL signed for the wrong contract is as dangerous as a BUY.
Missing or unknown data (an unknown chain id) rejects; it never approves.
Parameters (options, no numeric thresholds): expected_chain_id = 137 (Polygon).
Reason codes: SEC_CHECK_PASSED, SEC_CONTRACT_NOT_ALLOWED, SEC_DOMAIN_MISMATCH.
"""

from __future__ import annotations

from typing import ClassVar

from polytraders.bots.sec._vote import passed, rejected
from polytraders.contracts import RiskVote
from polytraders.execution.signer_service import SigningRequest
from polytraders.runtime.bot import Bot, Decision
from polytraders.runtime.config import BotConfig, Option, Param
from polytraders.runtime.context import BotContext
from polytraders.runtime.kinds import Authority, Layer
from polytraders.signing.constants import (
    CHAIN_CONTRACTS,
    CONTRACT_ALLOW_LIST,
    EIP712_DOMAIN_NAME,
    EIP712_DOMAIN_VERSION,
    POLYGON_CHAIN_ID,
)

_ALLOWED_LOWER = frozenset(a.lower() for a in CONTRACT_ALLOW_LIST)
# (chain id, neg_risk) -> the one exchange an order may be signed for.
_EXCHANGE_FOR = {
    (chain, neg): contracts.exchange_for(neg).lower()
    for chain, contracts in CHAIN_CONTRACTS.items()
    for neg in (False, True)
}


class ContractAddressGuard(Bot[SigningRequest, RiskVote]):
    bot_id: ClassVar[str] = "sec.contract_address_guard"
    version: ClassVar[str] = "0.1.0"
    layer: ClassVar[Layer] = Layer.SECURITY
    bot_class: ClassVar[str] = "Guardrail"
    authority: ClassVar[frozenset[Authority]] = frozenset({Authority.REJECT})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Option("expected_chain_id", POLYGON_CHAIN_ID, doc="The chain orders must be signed for."),
    )
    reason_codes: ClassVar[tuple[str, ...]] = (
        "SEC_CHECK_PASSED", "SEC_CONTRACT_NOT_ALLOWED", "SEC_DOMAIN_MISMATCH",
    )

    def __init__(self) -> None:
        super().__init__()
        self._chain_id = POLYGON_CHAIN_ID

    def on_init(self, config: BotConfig) -> None:
        self._chain_id = int(config["expected_chain_id"])

    def decide(self, input: SigningRequest, ctx: BotContext) -> Decision[RiskVote]:
        iid = input.plan.intent_id
        contract = input.verifying_contract.lower()
        if contract not in _ALLOWED_LOWER:
            return rejected(self.bot_id, iid, "SEC_CONTRACT_NOT_ALLOWED", "verifying_contract",
                            {"verifying_contract": input.verifying_contract})
        if _EXCHANGE_FOR.get((input.chain_id, input.neg_risk)) != contract:
            return rejected(self.bot_id, iid, "SEC_CONTRACT_NOT_ALLOWED", "verifying_contract",
                            {"verifying_contract": input.verifying_contract,
                             "neg_risk": str(input.neg_risk), "chain_id": str(input.chain_id)})
        if input.chain_id != self._chain_id:
            return rejected(self.bot_id, iid, "SEC_DOMAIN_MISMATCH", "chain_id",
                            {"chain_id": str(input.chain_id),
                             "expected": str(self._chain_id)})
        if input.domain_name != EIP712_DOMAIN_NAME:
            return rejected(self.bot_id, iid, "SEC_DOMAIN_MISMATCH", "domain_name",
                            {"domain_name": input.domain_name[:80]})
        if input.domain_version != EIP712_DOMAIN_VERSION:
            return rejected(self.bot_id, iid, "SEC_DOMAIN_MISMATCH", "domain_version",
                            {"domain_version": input.domain_version[:20]})
        return passed(self.bot_id, iid)
