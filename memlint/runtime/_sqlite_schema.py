"""The layout of the long-term store's SQLite file, and the migrations from older layouts.

``_sqlite`` opens files with it: a new file gets ``STORE_SCHEMA``; a file of version N
older than ``STORE_SCHEMA_VERSION`` runs ``STORE_MIGRATIONS[N]``, N + 1, ... in turn.
"""

from __future__ import annotations

from typing import Dict

STORE_APPLICATION_ID = 0x4D4C544D  # "MLTM"
STORE_SCHEMA_VERSION = 4

# Version 2: namespaces (one file, separate memories), per-entry ttl and access counts.
# Entries of a version-1 file move to the default namespace ('').
_ENTRIES_V2 = """
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,             -- insertion order
    ns TEXT NOT NULL,                    -- namespace
    id TEXT NOT NULL,
    ts_us INTEGER NOT NULL,              -- stored at, microseconds since the epoch (UTC)
    importance REAL NOT NULL,
    settled INTEGER NOT NULL DEFAULT 0,  -- 1 once past the grace period
    expires_us INTEGER,                  -- per-entry ttl, or NULL
    hits INTEGER NOT NULL DEFAULT 0,     -- accesses through get()
    body TEXT NOT NULL,                  -- the entry as JSON
    UNIQUE (ns, id)
);
-- The age bound and the oldest entry.
CREATE INDEX entries_by_ts ON entries (ns, ts_us);
-- Fresh entries waiting to settle, and the pruning order within each group: both are
-- partial indexes, so the count bound never skips over rows it may not delete.
CREATE INDEX entries_fresh ON entries (ns, ts_us) WHERE settled = 0;
CREATE INDEX entries_rank_settled ON entries (ns, importance, ts_us, seq) WHERE settled = 1;
CREATE INDEX entries_rank_fresh ON entries (ns, importance, ts_us, seq) WHERE settled = 0;
CREATE INDEX entries_expiry ON entries (ns, expires_us) WHERE expires_us IS NOT NULL;
-- One counter row per namespace.
CREATE TRIGGER entries_count_up AFTER INSERT ON entries
BEGIN INSERT INTO counters (name, value) VALUES (NEW.ns, 1)
      ON CONFLICT (name) DO UPDATE SET value = value + 1; END;
CREATE TRIGGER entries_count_down AFTER DELETE ON entries
BEGIN UPDATE counters SET value = value - 1 WHERE name = OLD.ns; END;
CREATE TRIGGER entries_tags_insert AFTER INSERT ON entries
BEGIN INSERT OR IGNORE INTO entry_tags (tag, seq)
      SELECT value, NEW.seq FROM json_each(NEW.body, '$.tags') WHERE type = 'text'; END;
CREATE TRIGGER entries_tags_update AFTER UPDATE OF body ON entries
BEGIN DELETE FROM entry_tags WHERE seq = OLD.seq;
      INSERT OR IGNORE INTO entry_tags (tag, seq)
      SELECT value, NEW.seq FROM json_each(NEW.body, '$.tags') WHERE type = 'text'; END;
CREATE TRIGGER entries_tags_delete AFTER DELETE ON entries
BEGIN DELETE FROM entry_tags WHERE seq = OLD.seq; END;
"""

# Version 3: no index of the fresh entries by time. Settling scans the fresh entries'
# rank index instead (it holds ts_us; the fresh ones are at most a grace period's
# worth), and every store no longer updates one more B-tree (about a tenth of a store's
# cost on a file: each index adds pages to every commit).
_STORE_V2_TO_V3 = """
DROP INDEX entries_fresh;
"""

# Version 4: a store writes fewer pages (each B-tree a row lives in adds pages to every
# commit, and the commit is most of a store's cost on a file).
# - The time index holds settled entries only: the age bound never removes an entry
#   inside its grace period, and settling (once a minute at most, in one transaction)
#   adds entries to it, so a store no longer writes to it.
# - The tag triggers run only for bodies that mention "tags" (a top-level "tags" key
#   always does; anything else that does is only read for nothing), instead of parsing
#   every body's JSON on insert and probing the tag index on every delete.
# - The count of each namespace is kept by the writing transaction (``_SQLiteStoreTx``),
#   which adds its net change once before it commits, instead of by triggers on every
#   insert and delete: a store past the bound (one in, one out) no longer writes it.
_STORE_V3_TO_V4 = """
DROP TRIGGER entries_count_up;
DROP TRIGGER entries_count_down;
DROP INDEX entries_by_ts;
CREATE INDEX entries_settled_by_ts ON entries (ns, ts_us) WHERE settled = 1;
DROP TRIGGER entries_tags_insert;
DROP TRIGGER entries_tags_update;
DROP TRIGGER entries_tags_delete;
CREATE TRIGGER entries_tags_insert AFTER INSERT ON entries WHEN instr(NEW.body, '"tags"') > 0
BEGIN INSERT OR IGNORE INTO entry_tags (tag, seq)
      SELECT value, NEW.seq FROM json_each(NEW.body, '$.tags') WHERE type = 'text'; END;
CREATE TRIGGER entries_tags_update AFTER UPDATE OF body ON entries
WHEN instr(OLD.body, '"tags"') > 0 OR instr(NEW.body, '"tags"') > 0
BEGIN DELETE FROM entry_tags WHERE seq = OLD.seq;
      INSERT OR IGNORE INTO entry_tags (tag, seq)
      SELECT value, NEW.seq FROM json_each(NEW.body, '$.tags') WHERE type = 'text'; END;
CREATE TRIGGER entries_tags_delete AFTER DELETE ON entries WHEN instr(OLD.body, '"tags"') > 0
BEGIN DELETE FROM entry_tags WHERE seq = OLD.seq; END;
"""

STORE_SCHEMA = """
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
-- Tags, kept in step with the entries' JSON by triggers, so that a tag is an index lookup.
CREATE TABLE entry_tags (tag TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (tag, seq)) WITHOUT ROWID;
CREATE INDEX entry_tags_by_seq ON entry_tags (seq);
-- Commit records of archive moves: an entry left this store under ``token``.
CREATE TABLE moves (
    token TEXT NOT NULL,
    archive_uid TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (token, id)
) WITHOUT ROWID;
CREATE INDEX moves_by_archive ON moves (archive_uid, token);
""" + _ENTRIES_V2 + _STORE_V2_TO_V3 + _STORE_V3_TO_V4

# Version 1 -> 2: SQLite cannot change a UNIQUE constraint, so the table is rebuilt
# (same seq, so the tag rows stay valid).
_STORE_V1_TO_V2 = """
DROP TRIGGER entries_count_up;
DROP TRIGGER entries_count_down;
DROP TRIGGER entries_tags_insert;
DROP TRIGGER entries_tags_update;
DROP TRIGGER entries_tags_delete;
DROP INDEX entries_by_ts;
DROP INDEX entries_fresh;
DROP INDEX entries_rank_settled;
DROP INDEX entries_rank_fresh;
ALTER TABLE entries RENAME TO entries_v1;
""" + _ENTRIES_V2 + """
INSERT INTO entries (seq, ns, id, ts_us, importance, settled, body)
    SELECT seq, '', id, ts_us, importance, settled, body FROM entries_v1;
DROP TABLE entries_v1;
DELETE FROM counters;
INSERT INTO counters (name, value) SELECT ns, count(*) FROM entries GROUP BY ns;
"""

# Migrations from version N to N + 1, by N.
STORE_MIGRATIONS: Dict[int, str] = {1: _STORE_V1_TO_V2, 2: _STORE_V2_TO_V3, 3: _STORE_V3_TO_V4}
