-- Jaring on PostgreSQL, schema version 3: the log loses its secondary index
-- on (origin, origin_seq). The node never reads the log by origin: it finds
-- an origin's entry through origin_entries, keyed by origin 0x00 origin_seq
-- (big-endian), which holds the entry's local_seq. The index cost every
-- stored entry one more B-tree insert. An operator reads an origin's entry
-- with
--   SELECT l.* FROM origin_entries o JOIN log l ON l.seq = o.local_seq
--   WHERE o.k = convert_to('ID', 'UTF8') || '\x00'::bytea || int8send(42);
-- The origin and origin_seq columns of log stay, for reading.
DROP INDEX IF EXISTS log_origin;
