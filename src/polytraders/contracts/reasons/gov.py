"""GOV_* reason codes (Governance: observe, explain, reconcile, audit; never blocks)."""

from polytraders.contracts.reasons import rc

CODES = [
    rc("GOV_RUN_STARTED", "INFO", "A runtime session started (live or simulated).", "None.", "The system started."),
    rc("GOV_RUN_STOPPED", "INFO", "A runtime session stopped cleanly.", "None.", "The system stopped."),
    rc("GOV_CHECKPOINT", "INFO", "A state checkpoint was written so state can rebuild without reading from seq 1.",
       "None.", "The system saved a checkpoint of its state."),
    rc("GOV_MARKET_DATA", "INFO", "A market-data update was recorded as an input.", "None.", "Market data arrived."),
    rc("GOV_VENUE_EVENT", "INFO", "A venue event was recorded as an input.", "None.", "The exchange sent an update."),
    rc("GOV_OPERATOR_COMMAND", "INFO", "An authenticated operator issued a command.", "None.",
       "An operator made a change."),
    rc("GOV_OPERATOR_ADDED", "INFO", "An operator identity was created.", "None.", "A team member was added."),
    rc("GOV_OPERATOR_REVOKED", "INFO", "An operator identity was revoked.", "None.", "A team member was removed."),
    rc("GOV_AUTH_REFUSED", "WARN", "A command was refused: missing or unknown token, or a role without the permission.",
       "Check who tried it; repeated refusals may be an attack.",
       "A change was refused because it was not authorised."),
    rc("GOV_MODE_CHANGED", "INFO", "A bot's live mode changed.", "None.", "A bot changed how it runs."),
    rc("GOV_AUTHORITY_VIOLATION", "WARN", "A bot produced output beyond its authority; the runtime discarded it.",
       "Fix the bot; this is a bug.", "A component tried to do something it is not allowed to do, and was stopped."),
    rc("GOV_BOT_ERROR", "WARN", "A bot raised an error while deciding; the runtime recorded it and continued safely.",
       "Investigate the bot; guards fail closed.", "A component had an error and was handled safely."),
    rc("GOV_CONFIG_LOADED", "INFO", "A bot's validated configuration was loaded.", "None.", "Settings were loaded."),
    rc("GOV_CONFIG_WARNING", "WARN", "A bot parameter is past its warning level (below the hard limit).",
       "Bring it back inside the warning band or document why.", "A setting is looser than recommended."),
    rc("GOV_BOT_PROMOTED", "INFO", "A bot was promoted to a higher lifecycle stage with recorded evidence.",
       "None.", "A component was promoted after passing its checks."),
    rc("GOV_PROMOTION_REFUSED", "WARN", "A promotion was refused because a gate lacks evidence.",
       "Collect the missing evidence named in the detail.",
       "A promotion was refused: a required check has not passed."),
    rc("GOV_BOT_EXPLANATION", "EXPLAIN", "A plain-English explanation of a decision.", "None.",
       "An explanation of a decision."),
    rc("GOV_API_OK", "INFO", "An API surface is healthy.", "None.", "The exchange connection is healthy."),
    rc("GOV_API_DEGRADED", "WARN", "An API surface is degraded (warning or hard level).",
       "Follow the API-degraded playbook.", "The exchange connection is degraded; strategies were made advisory."),
    rc("GOV_API_UNKNOWN", "WARN", "An API surface's health cannot be read (stale monitor).",
       "Check the monitor itself.", "We cannot tell whether the exchange connection is healthy."),
    rc("GOV_RECONCILE_OK", "INFO", "Internal books match on-chain state.", "None.",
       "Our records match the blockchain."),
    rc("GOV_RECONCILE_MISMATCH", "HARD_REJECT", "Internal books do not match on-chain state.",
       "Follow the reconcile playbook; reconcile by hand with a second approver.",
       "Our records and the blockchain disagree; trading stopped."),
    rc("GOV_CONFIG_DRIFT", "WARN", "A running config differs from the approved baseline.",
       "Follow the config-drift playbook.", "A setting differs from the approved one."),
    rc("GOV_INCIDENT_DECLARED", "WARN", "An incident was opened for a confirmed alert.",
       "The assigned incident commander runs the playbook.", "An incident was opened and a person was assigned."),
    rc("GOV_INCIDENT_STEP", "INFO", "A playbook step ran or was acknowledged.", "None.",
       "A step of the response plan was done."),
    rc("GOV_INCIDENT_STEP_FAILED", "WARN", "An automatic playbook step failed.", "Do the step by hand.",
       "A step of the response plan did not work and needs a person."),
    rc("GOV_INCIDENT_RESOLVED", "INFO", "An incident was resolved.", "Write the RCA before it is due.",
       "The incident was resolved."),
    rc("GOV_INCIDENT_ACKNOWLEDGED", "INFO", "An operator acknowledged an incident.", "None.",
       "Someone is handling the incident."),
    rc("GOV_ALERT_UNCONFIRMED", "INFO", "An alert condition was seen but has not held for its confirm window yet.",
       "None.", "A possible problem is being watched."),
    rc("GOV_ALERT_CONFIRMED", "WARN", "An alert condition held for its confirm window.",
       "An incident follows.", "A problem was confirmed."),
    rc("GOV_ALERT_FLAPPING", "WARN", "An alert changes state too often; re-paging is suppressed until it settles.",
       "Investigate the unstable condition.", "A problem keeps appearing and disappearing; we stopped re-alerting."),
    rc("GOV_STATE_CAPTURED", "INFO", "State was captured for an incident before any remedy.",
       "None.", "A snapshot of the system was saved for the investigation."),
    rc("GOV_PAGE_SENT", "INFO", "An on-call person was paged.", "None.", "The on-call person was alerted."),
    rc("GOV_PAGING_SYSTEM_UNAVAILABLE", "WARN", "Paging failed; the notice fell back to the incident channel.",
       "Page the on-call by other means and fix the paging integration.",
       "We could not reach the paging system and posted the alert to the incident channel instead."),
    rc("GOV_RCA_OVERDUE", "WARN", "A resolved incident has no RCA after require_rca_within_h.",
       "Write and attach the RCA.", "A post-incident review is overdue."),
    rc("GOV_RCA_RECORDED", "INFO", "An RCA was attached to an incident.", "None.",
       "A post-incident review was written."),
    rc("GOV_REPLAY_MATCH", "INFO", "Replay reproduced the recorded decisions.", "None.",
       "Re-running the last hour gave the same decisions."),
    rc("GOV_REPLAY_REGRESSION", "WARN", "Replay diverged from the recorded decisions.",
       "Investigate the first divergence before trusting the build.",
       "Re-running the last hour gave different decisions; this needs review."),
    rc("GOV_REPLAY_NO_NETWORK_VIOLATION", "HARD_REJECT", "Something tried to reach a venue or pager during replay.",
       "Fix the code path; replay must be side-effect free.",
       "A replay tried to contact the outside world and was stopped."),
    rc("GOV_POSITIONS_SNAPSHOT", "INFO", "A positions snapshot was published.", "None.",
       "A summary of positions was shared."),
    rc("GOV_WALLET_BALANCE", "INFO", "The wallet's pUSD balance was read", "None.",
       "The wallet balance was checked."),
    rc("GOV_WALLET_DEPOSIT", "INFO",
       "pUSD was deposited into the trading wallet; equity rises, PnL and drawdown do not "
       "change.", "None.", "Money was added to the wallet."),
    rc("GOV_WALLET_WITHDRAWAL", "INFO", "pUSD was withdrawn from the trading wallet; equity falls, PnL and drawdown do "
       "not change.", "Confirm the withdrawal was intended.", "Money was taken out of the wallet."),
    rc("GOV_INCIDENT_ACTION_REFUSED", "WARN",
       "An operator action on an incident was refused (unknown incident or step, already resolved, "
       "or a precondition such as an active kill-switch trip).",
       "Read the refusal detail, satisfy the named precondition, then retry.",
       "A change to an incident was refused; the reason is recorded."),
]

CODES += [
    rc("GOV_JOURNAL_CREATED", "INFO", "A journal was created: its genesis fixes its id, mode (live or simulation), "
       "system key and first two admins.", "Keep the admins' key files apart.", "A new journal was started."),
    rc("GOV_SESSION_OPENED", "INFO", "The running system opened a session, signed with the system key; from here on "
       "its own entries are covered by its digests.", "None.", "The trading system started a session."),
    rc("GOV_JOURNAL_DIGEST", "INFO", "A signed digest vouching for every entry before it (also written to the "
       "anchor directory).", "None.", "The system sealed the journal so far."),
    rc("GOV_JOURNAL_SEALED", "INFO", "An admin sealed the journal with the system key (journal seal).", "None.",
       "An administrator sealed the journal."),
    rc("GOV_JOURNAL_TAMPERED", "HARD_REJECT", "An entry that is neither a valid signed operator command nor the "
       "running system's own was found; it was not applied and the kill switch tripped.",
       "Treat as a security incident: find who could write the journal file; verify it.",
       "Someone altered the trading journal; trading stopped."),
    rc("GOV_COMMAND_REFUSED", "WARN", "A signed operator entry broke a rule (role, two-person rule, expiry, clock "
       "skew) and had no effect.", "Check who wrote it and why the command was not used.",
       "An operator's change was refused and had no effect."),
    rc("GOV_PAYLOAD_SKIPPED", "WARN", "A projection could not interpret an entry's payload and skipped it.",
       "Inspect the entry; fix whatever wrote it.", "One record could not be read and was skipped."),
    rc("GOV_OPERATOR_REQUESTED", "INFO", "An admin asked to register an operator; a second admin must approve.",
       "A second admin reviews and approves or ignores it.", "A new team member was proposed."),
    rc("GOV_HALT_FILE", "HARD_REJECT", "The halt file was found beside the journal: the system halted everything "
       "as for a global trip.", "Find who created it and why; reset as for any trip.",
       "An emergency stop was requested; trading stopped."),
    rc("GOV_RUN_STOPPING", "INFO", "The live runtime is stopping and leaves resting orders at the venue.",
       "Expect the exchange to cancel them when our heartbeats stop (about 15 s).",
       "The trading system is stopping; its remaining orders will be cancelled by the exchange."),
    rc("GOV_MODE_HOLD", "INFO", "A hold on a bot's mode was placed or released by its source (the kill switch, a "
       "playbook, an operator); the effective mode is the most restrictive of the base mode and all holds.",
       "None.", "A component was held at a safer mode, or released."),
    rc("GOV_API_NO_CHANGE", "INFO", "An API health summary left the surface's level as it was.", "None.",
       "The exchange connection was checked."),
    rc("GOV_API_SUMMARY", "INFO", "Per-surface API health figures over the monitor's windows.", "None.",
       "The exchange connection's figures were recorded."),
    rc("GOV_API_HOLD", "INFO", "An operator held (or released) the API-degraded demotion in place.",
       "Release the hold when the APIs are trusted again.", "An operator kept strategies in advisory mode."),
    rc("GOV_API_PROMOTE_REQUESTED", "INFO", "An operator asked to restore strategies early after an API "
       "degradation; a second person must approve.", "A second operator reviews and approves.",
       "An early restore was requested."),
    rc("GOV_API_PROMOTE_APPROVED", "INFO", "A second operator approved restoring strategies early.", "None.",
       "An early restore was approved."),
    rc("GOV_API_RESTORED", "INFO", "The API-degraded playbook restored each strategy's previous mode after "
       "continuous green on every surface (or an approved early promotion).", "None.",
       "Strategies were restored after the exchange connection recovered."),
    rc("GOV_CONFIG_REFUSED", "WARN", "A bot's configuration was refused at start (a value outside its hard limit, "
       "or an inconsistent combination).", "Fix the named field.", "A setting was refused."),
]

# The on-chain reconciler (gov.reconciler) and its playbook. GOV_RECONCILE_MISMATCH is a P0 alert.
CODES += [
    rc("GOV_RECONCILE_UNAVAILABLE", "WARN", "The chain could not be read (node unreachable, reorg during the read) "
       "or its head is older than max_head_age_s: nothing was compared, and this is never a match.",
       "Check the RPC node; the chain surface counts as degraded until a read succeeds.",
       "We could not check our records against the blockchain."),
    rc("GOV_CHAIN_READ", "INFO", "The reconciler's driver read balances pinned to one block (or journaled why it "
       "could not); the bot decides from this entry, so replay never calls the node.", "None.",
       "The blockchain balances were read."),
    rc("GOV_CHAIN_TRANSFER", "INFO", "An explicit deposit or withdrawal of pUSD or shares; any balance change "
       "not explained by a confirmed fill, a transfer or an approved adjustment is a mismatch.", "None.",
       "Funds were deposited or withdrawn."),
    rc("GOV_RECONCILE_ADJUSTMENT_RECORDED", "WARN", "An operator recorded an explanation and a by-hand "
       "reconciliation for a reconcile incident; it counts only once a second operator approves it.",
       "A second operator (approver or admin, not registered by the requester) reviews and approves it.",
       "An operator corrected our records by hand; a second person must approve it."),
    rc("GOV_RECONCILE_ADJUSTMENT_APPROVED", "INFO", "A second operator approved a by-hand reconciliation; a fresh "
       "reconcile must now match before the kill switch can be reset.", "Run 'polytraders reconcile'.",
       "A second person approved the correction."),
    rc("GOV_RECONCILE_ADJUSTMENT_REFUSED", "WARN", "A by-hand reconciliation or its approval was refused "
       "(unknown incident, same person, role, already approved).", "Read the refusal and retry correctly.",
       "A correction to our records was refused."),
    rc("GOV_RECONCILE_DIVERGENCE_CAPTURED", "INFO", "The reconcile playbook captured the divergence record "
       "(internal value, on-chain value, block number and hash, journal seq) into the incident.", "None.",
       "The differences between our records and the blockchain were recorded."),
]

# The command line's own refusals (the reason_code of a --json error; never journaled).
CODES += [
    rc("GOV_CLI_BAD_USAGE", "WARN", "A command was called wrongly: an unknown option, a malformed or out-of-range "
       "value, an unknown name (exit code 2).", "Fix the command line; --help lists what is accepted.",
       "The command was not understood."),
    rc("GOV_CLI_REFUSED", "WARN", "A command was understood but refused (a precondition, a gate, a missing key).",
       "Read the message: it names what is missing.", "The command was refused."),
    rc("GOV_CLI_JOURNAL_UNREADABLE", "WARN", "The journal named by --db (or $POLYTRADERS_DB) is missing, not a "
       "Polytraders journal, or damaged; readers fail closed rather than report an empty all-clear.",
       "Point --db at the right journal; run 'polytraders journal verify' on a damaged one.",
       "The journal could not be read."),
    rc("GOV_CLI_FILE_ERROR", "WARN", "A file or folder the command needed could not be read or written.",
       "Check the path and its permissions.", "A file could not be read or written."),
    rc("GOV_CLI_NOT_FOUND", "WARN", "No record carries the id given (an order, decision, incident or snapshot).",
       "Copy the id from 'polytraders orders', 'journal tail' or 'incidents list'.", "Nothing was found with that id."),
    rc("GOV_CLI_INTERNAL_ERROR", "HARD_REJECT", "A command failed on an error the code did not anticipate: a bug.",
       "Report it with the command line; set POLYTRADERS_DEBUG=1 to see the traceback.",
       "The command failed unexpectedly."),
]

# The config drift detector (gov.config_drift_detector), the approved-config repository and the
# "config drift detected" playbook. GOV_CONFIG_DRIFT is above.
CODES += [
    rc("GOV_CONFIG_DRIFT_RESOLVED", "INFO", "Every difference the config drift detector last reported has closed.",
       "None.", "The running settings match the approved ones again."),
    rc("GOV_CONFIG_DRIFT_UNKNOWN", "WARN", "The approved config cannot be read (repository missing or damaged, an "
       "invalid file, an approved-branch head nobody approved): nothing was compared, and this is never a match.",
       "Fix the approved-config repository; 'polytraders config check' names the problem.",
       "We cannot tell whether the running settings are the approved ones."),
    rc("GOV_CONFIG_DRIFT_ONGOING", "INFO", "The differences the config drift detector reported are still open.",
       "Follow the open config-drift incident.", "Some settings still differ from the approved ones."),
    rc("GOV_CONFIG_IN_SYNC", "INFO", "Every running bot config matches the approved config.", "None.",
       "The running settings are the approved ones."),
    rc("GOV_CONFIG_APPROVED_VERSION", "INFO", "The runtime read the approved config: the approved branch's commit "
       "id, the hash of its files and each bot's values (an input: bots never read git).", "None.",
       "The approved settings were read."),
    rc("GOV_CONFIG_SOURCE_INVALID", "WARN", "The runtime could not use the approved config: the repository cannot "
       "be read, a file is invalid, or the approved branch moved to a commit with no journaled approval.",
       "Run 'polytraders config check' and fix the repository.", "The approved settings could not be read."),
    rc("GOV_CONFIG_REPO_INITIALISED", "INFO", "The approved-config repository was created from the bots' defaults.",
       "None.", "The approved settings were set up."),
    rc("GOV_CONFIG_SET", "WARN", "An operator edited a running bot's config live, outside the approved config; "
       "without an active override covering it, the drift playbook reverts it.",
       "Use 'polytraders config override' for a time-bound change, or 'config propose' for a permanent one.",
       "An operator changed a setting live."),
    rc("GOV_CONFIG_REVERTED", "WARN", "The config-drift playbook restored a running field to its approved value "
       "(an unauthorised change), naming who made the change.", "Talk to whoever made the change.",
       "A setting changed without approval was put back."),
    rc("GOV_CONFIG_OVERRIDE_REQUESTED", "INFO", "An operator asked for a time-bound override of one bot's field; "
       "it takes effect when a second operator approves it.", "A second operator reviews the override and its "
       "what-if evidence ('polytraders config approvals').", "A temporary setting change was requested."),
    rc("GOV_CONFIG_OVERRIDE_APPROVED", "WARN", "A second operator approved an override; it holds until its time "
       "bound unless its change request is merged first.", "Approve the change request or let it expire.",
       "A temporary setting change took effect."),
    rc("GOV_CONFIG_OVERRIDE_EXPIRED", "WARN", "An override reached its time bound without its change being "
       "approved: the approved value was restored.", "Propose the change again if it is still wanted.",
       "A temporary setting change ended and the approved setting was restored."),
    rc("GOV_CONFIG_CHANGE_PROPOSED", "INFO", "An approval request was opened: a commit with the proposed file on "
       "its own branch of the config repository, with what-if evidence from replay-last-hour.",
       "A second operator reviews it with 'polytraders config approvals'.", "A settings change was proposed."),
    rc("GOV_CONFIG_CHANGE_APPROVED", "INFO", "A second operator approved a change request; the merge into the "
       "approved branch follows.", "None.", "A settings change was approved."),
    rc("GOV_CONFIG_CHANGE_MERGED", "INFO", "An approved change request was merged into the approved branch: the "
       "merge commit is the new approved version.", "None.", "The approved settings changed."),
    rc("GOV_CONFIG_MERGE_FAILED", "WARN", "An approved change request could not be merged (a conflict with the "
       "approved branch); nothing changed and the request is open again.", "Propose the change again.",
       "An approved settings change could not be applied."),
    rc("GOV_CONFIG_COMMAND_REFUSED", "WARN", "A config command by an authenticated operator was refused (unknown "
       "bot or field, past a hard limit, no reason or TTL, TTL too long, approval by the proposer or by someone "
       "the proposer registered).", "Read the refusal and retry correctly.", "A settings change was refused."),
    rc("GOV_CONFIG_UNKNOWN_FIELD", "WARN", "A config command named a bot or field the running system does not have.",
       "Use a field 'polytraders config show BOT' lists.", "A setting that does not exist was named."),
    rc("GOV_CONFIG_HARD_LIMIT", "WARN", "A config value is past the field's hard limit; no bot may run with it.",
       "Stay inside the limit 'polytraders config show BOT' prints.", "A setting was outside its allowed range."),
    rc("GOV_CONFIG_INVALID_VALUE", "WARN", "A config value has the wrong type (not a number, a float, a list "
       "where a number is expected).", "Give an exact value of the field's type.", "A setting had the wrong type."),
]
