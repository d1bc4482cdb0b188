// Compiles contracts/*.sol with solcjs (npm `solc`, runs offline) and prints the artefacts as
// canonical JSON on stdout: {"<Contract>": {"abi": [...], "bytecode": "0x..."}}.
// Usage: node scripts/compile-contracts.cjs > src/polytraders/chain/artifacts.json
// The test suite runs it again and compares, so the shipped artefacts match their source.
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "..");
const solc = require(path.join(root, "node_modules", "solc"));
const names = ["StandInPUSD", "StandInConditionalTokens"];
const sources = {};
for (const n of names) {
  sources[`contracts/${n}.sol`] = { content: fs.readFileSync(path.join(root, "contracts", `${n}.sol`), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "paris",
    // no metadata hash: the bytecode then depends only on the code, not on comments or paths
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) process.stderr.write(e.formattedMessage + "\n");
  process.exit(1);
}
const artefacts = { compiler: solc.version() };
for (const n of names) {
  const c = out.contracts[`contracts/${n}.sol`][n];
  artefacts[n] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
}
process.stdout.write(JSON.stringify(artefacts, null, 1) + "\n");
