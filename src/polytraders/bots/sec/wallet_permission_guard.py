"""sec.wallet_permission_guard — only permitted wallets sign, and every order carries our code.

Purpose: before any signature, check that the order's maker (funder) and signer addresses are
both on the configured wallet allow-list, and that the order's builder field is present (non-zero)
and equal to the pinned builder code.
Inputs:  `SigningRequest` (polytraders.execution.signer_service).
Outputs: `RiskVote` — APPROVE (SEC_CHECK_PASSED) or REJECT; never RESHAPE_REQUIRED (a wallet or
         attribution problem cannot be downsized). Risk-reducing and close-only orders get no
         exemption. An empty allow-list permits no wallet: missing configuration rejects.
Parameters (options, no numeric thresholds):
  allowed_wallets     = ()            addresses (any case) allowed as maker and signer
  pinned_builder_code = BUILDER_CODE  the bytes32 builder code every order must carry
Reason codes: SEC_CHECK_PASSED, SEC_WALLET_NOT_PERMITTED, SEC_BUILDERCODE_MISSING.
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
from polytraders.signing.constants import BUILDER_CODE, ZERO_BYTES32


class WalletPermissionGuard(Bot[SigningRequest, RiskVote]):
    bot_id: ClassVar[str] = "sec.wallet_permission_guard"
    version: ClassVar[str] = "0.1.0"
    layer: ClassVar[Layer] = Layer.SECURITY
    bot_class: ClassVar[str] = "Guardrail"
    authority: ClassVar[frozenset[Authority]] = frozenset({Authority.REJECT})
    params: ClassVar[tuple[Param | Option, ...]] = (
        Option("allowed_wallets", (), doc="Addresses allowed as maker and signer."),
        Option("pinned_builder_code", BUILDER_CODE, doc="The builder code every order carries."),
    )
    reason_codes: ClassVar[tuple[str, ...]] = (
        "SEC_CHECK_PASSED", "SEC_WALLET_NOT_PERMITTED", "SEC_BUILDERCODE_MISSING",
    )

    def __init__(self) -> None:
        super().__init__()
        self._allowed: frozenset[str] = frozenset()
        self._builder = BUILDER_CODE

    def on_init(self, config: BotConfig) -> None:
        self._allowed = frozenset(str(a).lower() for a in config["allowed_wallets"])
        self._builder = str(config["pinned_builder_code"]).lower()

    def decide(self, input: SigningRequest, ctx: BotContext) -> Decision[RiskVote]:
        iid = input.plan.intent_id
        order = input.unsigned
        for field, address in (("maker", order.maker), ("signer", order.signer)):
            if address.lower() not in self._allowed:
                return rejected(self.bot_id, iid, "SEC_WALLET_NOT_PERMITTED", field,
                                {field: address})
        builder = order.builder.lower()
        if builder == ZERO_BYTES32 or builder != self._builder:
            return rejected(self.bot_id, iid, "SEC_BUILDERCODE_MISSING", "builder",
                            {"builder": order.builder})
        return passed(self.bot_id, iid)
