"""The shipped stand-in artefacts are exactly what solcjs makes from contracts/*.sol, and they
behave like the pUSD and conditional-token contracts the reconciler reads."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from chain_helpers import FUNDER, Anvil

from polytraders.chain.contracts import CTF, PUSD, artifacts, repo_root


def test_artefacts_match_a_fresh_solcjs_compile() -> None:
    root = repo_root()
    node = shutil.which("node")
    if root is None or node is None or not (root / "node_modules" / "solc").exists():
        pytest.skip("solcjs not installed: run scripts/install-test-tools.sh")
    out = subprocess.run([node, str(root / "scripts" / "compile-contracts.cjs")], capture_output=True, text=True,
                         check=True, timeout=120)
    assert json.loads(out.stdout) == artifacts()


def test_artefacts_have_what_the_reader_calls() -> None:
    names = {f["name"] for f in artifacts()[CTF]["abi"] if f["type"] == "function"}
    assert {"balanceOf", "balanceOfBatch", "mint", "mintBatch", "safeTransferFrom", "setApprovalForAll"} <= names
    pusd = {f["name"] for f in artifacts()[PUSD]["abi"] if f["type"] == "function"}
    assert {"balanceOf", "decimals", "mint", "transfer", "transferFrom", "approve"} <= pusd


@pytest.mark.slow
def test_stand_ins_on_anvil(anvil: Anvil) -> None:
    admin = anvil.admin
    assert admin.pusd.functions.decimals().call() == 6
    assert admin.w3.eth.chain_id == 137
    admin.mint_pusd(FUNDER, 5)
    admin.mint_tokens(FUNDER, ["1", "2"], 7)
    assert admin.pusd.functions.balanceOf(FUNDER).call() == 5
    assert admin.ctf.functions.balanceOfBatch([FUNDER, FUNDER], [1, 2]).call() == [7, 7]
    with pytest.raises(Exception, match="only owner"):  # nobody but the deployer mints
        admin._as(FUNDER, admin.pusd.functions.mint(FUNDER, 1))
