"""SEC_* reason codes (Security layer: what gets signed)."""

from polytraders.contracts.reasons import rc

CODES = [
    rc("SEC_CHECK_PASSED", "INFO", "The signing request passed every security check.",
       "None.", "The order passed security checks."),
    rc("SEC_CONTRACT_NOT_ALLOWED", "HARD_REJECT", "The verifying contract is not on the CTF Exchange V2 allow-list.",
       "Investigate the configuration immediately.", "An order targeted a contract we do not trust."),
    rc("SEC_DOMAIN_MISMATCH", "HARD_REJECT", "The EIP-712 domain is not the CLOB V2 domain (name, version 2, chain).",
       "Investigate the signer configuration.", "An order was prepared for the wrong exchange version."),
    rc("SEC_BUILDERCODE_MISSING", "HARD_REJECT", "The order does not carry the pinned builder code.",
       "Fix the builder-code configuration.", "An order was missing required attribution."),
    rc("SEC_WALLET_NOT_PERMITTED", "HARD_REJECT", "The maker or signer wallet is not permitted to sign.",
       "Check the wallet allow-list.", "The wallet is not allowed to place this order."),
    rc("SEC_SIGNING_INVALID", "HARD_REJECT", "The produced signature does not recover to the expected signer.",
       "Stop and investigate the signing key.", "An order signature was invalid."),
    rc("SEC_ORDER_SIGNED", "INFO", "The order was signed with EIP-712 V2.", "None.", "The order was signed."),
]
