"""The append-only, hash-chained journal of envelopes (SQLite by default)."""

from polytraders.journal.base import GENESIS_HASH, Journal, JournalEntry, VerifyResult
from polytraders.journal.sqlite import SqliteJournal, create_journal, open_journal

__all__ = ["GENESIS_HASH", "Journal", "JournalEntry", "SqliteJournal", "VerifyResult", "create_journal", "open_journal"]
