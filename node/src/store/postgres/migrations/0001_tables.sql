-- Jaring on PostgreSQL, schema version 1: one table per keyspace of the
-- node's store (node/src/store/layout.rs), with typed columns for the data.
--
-- Tables keyed by a log or audit position use `seq bigint`; the others keep
-- the node's key bytes in `k bytea` (bytea compares byte by byte, which is
-- the order the node scans in) beside typed columns decoded from the key,
-- for operators' SQL. Values with a fixed layout are stored as columns and
-- rebuilt on read; JSON records are `json`, which keeps their exact text.
-- Text columns use the "C" collation: byte order, the node's order.

-- The local log: local_seq -> the signed envelope exactly as received or
-- signed. The source of truth; origin and origin_seq are read from the
-- envelope for SQL readers.
CREATE TABLE log (
    seq        bigint PRIMARY KEY,
    origin     text COLLATE "C",
    origin_seq bigint,
    envelope   bytea NOT NULL
);
CREATE INDEX log_origin ON log (origin, origin_seq);

-- (origin, origin_seq) -> the body held and where it sits in the log.
CREATE TABLE origin_entries (
    k          bytea PRIMARY KEY,
    origin     text COLLATE "C",
    origin_seq bigint,
    body_hash  bytea NOT NULL,
    prev_hash  bytea NOT NULL,
    local_seq  bigint NOT NULL
);

-- origin -> the highest origin_seq held and its body hash.
CREATE TABLE heads (
    k         bytea PRIMARY KEY,
    origin    text COLLATE "C",
    seq       bigint NOT NULL,
    body_hash bytea NOT NULL
);

-- (kind, value, origin) -> log position of that origin's latest version.
CREATE TABLE lookup_index (
    k         bytea PRIMARY KEY,
    kind      text COLLATE "C",
    value     text COLLATE "C",
    origin    text COLLATE "C",
    local_seq bigint NOT NULL
);

-- This node's own indicator ids -> log position of the latest version.
CREATE TABLE own_ids (
    k            bytea PRIMARY KEY,
    indicator_id text COLLATE "C",
    local_seq    bigint NOT NULL
);

-- (kind, keyed digest) -> plain value of personal data this node submitted.
-- Local only: never sent to a peer.
CREATE TABLE plain_values (
    k      bytea PRIMARY KEY,
    kind   text COLLATE "C",
    digest text COLLATE "C",
    plain  text NOT NULL
);

-- peer -> the peer's log position applied here.
CREATE TABLE cursors (
    k        bytea PRIMARY KEY,
    peer     text COLLATE "C",
    position bigint NOT NULL
);

-- peer node_id -> peer record (identity card, trust, agreement).
CREATE TABLE peers (
    k       bytea PRIMARY KEY,
    node_id text COLLATE "C",
    record  json NOT NULL
);

-- key id -> trusted public key.
CREATE TABLE trusted_keys (
    k      bytea PRIMARY KEY,
    key_id text COLLATE "C",
    record json NOT NULL
);

-- The hash-chained audit log; the chain's columns are read from the entry.
CREATE TABLE audit (
    seq       bigint PRIMARY KEY,
    at_ms     bigint,
    actor     text,
    action    text,
    prev_hash text,
    hash      text,
    record    json NOT NULL
);

-- Review quarantine: log position -> review record.
CREATE TABLE quarantine (
    seq    bigint PRIMARY KEY,
    record json NOT NULL
);

-- Fork evidence: (origin, origin_seq, body hash) -> the refused envelope.
CREATE TABLE forks (
    k          bytea PRIMARY KEY,
    origin     text COLLATE "C",
    origin_seq bigint,
    envelope   bytea NOT NULL
);

-- Counters and small settings.
CREATE TABLE meta (
    k    bytea PRIMARY KEY,
    name text COLLATE "C",
    v    bytea NOT NULL
);

-- Feedback events filed under the value they are about.
CREATE TABLE feedback_refs (
    k         bytea PRIMARY KEY,
    kind      text COLLATE "C",
    value     text COLLATE "C",
    reporter  text COLLATE "C",
    local_seq bigint
);

-- Admin allowlists: (list, kind or *, value) -> entry.
CREATE TABLE allowlist (
    k      bytea PRIMARY KEY,
    list   text COLLATE "C",
    kind   text COLLATE "C",
    value  text COLLATE "C",
    record json NOT NULL
);

-- The writer lease: exactly one node process writes at a time. `token` is
-- the fencing token: every takeover increments it, and every commit checks
-- it in its own transaction, so a writer that lost the lease (paused,
-- partitioned) can never commit after its successor started.
CREATE TABLE writer_lease (
    id              smallint PRIMARY KEY CHECK (id = 1),
    token           bigint NOT NULL,
    holder          text,
    admin_addr      text,
    federation_addr text,
    http_addr       text,
    acquired_at     timestamptz,
    renewed_at      timestamptz,
    expires_at      timestamptz NOT NULL,
    commits         bigint NOT NULL DEFAULT 0
);
INSERT INTO writer_lease (id, token, expires_at) VALUES (1, 0, '-infinity');

-- Per keyspace, how many commits changed it: standby and lookup processes
-- poll this (and the log's head) to follow the writer.
CREATE TABLE changes (
    keyspace text PRIMARY KEY,
    version  bigint NOT NULL
);
