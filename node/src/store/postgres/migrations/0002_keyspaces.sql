-- Jaring on PostgreSQL, schema version 2: the keyspaces added after
-- version 1 (node/src/store/layout.rs: Reach, StixIds, Warninglists,
-- Tokens, Tiles, Witness, Cases), one table each, same conventions as
-- 0001: the node's key bytes in `k bytea` (byte order), typed columns
-- decoded from the key for operators' SQL, the value as columns.

-- Own indicator id -> the markings its versions left with (what a
-- tombstone must reach).
CREATE TABLE reach (
    k            bytea PRIMARY KEY,
    indicator_id text COLLATE "C",
    record       json NOT NULL
);

-- STIX id -> the indicator's lookup-index key (kind 0x00 value 0x00
-- origin), so TAXII finds an object by id.
CREATE TABLE stix_ids (
    k         bytea PRIMARY KEY,
    stix_id   text COLLATE "C",
    kind      text COLLATE "C",
    value     text COLLATE "C",
    origin    text COLLATE "C",
    index_key bytea NOT NULL
);

-- Large allowlists: `h` list -> header, `c` list 0x00 generation index ->
-- a binary chunk of rules.
CREATE TABLE warninglists (
    k          bytea PRIMARY KEY,
    part       text COLLATE "C",
    list       text COLLATE "C",
    generation bigint,
    chunk      bigint,
    v          bytea NOT NULL
);

-- Access token name -> record (role, scope, SHA-256 of the secret).
CREATE TABLE tokens (
    k      bytea PRIMARY KEY,
    name   text COLLATE "C",
    record json NOT NULL
);

-- The node's log as a transparency-log tree: (level, index) -> the tile's
-- hashes.
CREATE TABLE tlog_tiles (
    k          bytea PRIMARY KEY,
    level      bigint,
    tile_index bigint,
    hashes     bytea NOT NULL
);

-- What this node holds as a witness of other logs: the checkpoint last
-- cosigned per origin, and refused checkpoints kept as fork evidence.
CREATE TABLE witness (
    k      bytea PRIMARY KEY,
    what   text COLLATE "C",
    origin text COLLATE "C",
    record json NOT NULL
);

-- Takedown cases: (requester, case_seq, local_seq) -> (), the events of
-- each case.
CREATE TABLE takedown_cases (
    k         bytea PRIMARY KEY,
    origin    text COLLATE "C",
    case_seq  bigint,
    local_seq bigint
);
