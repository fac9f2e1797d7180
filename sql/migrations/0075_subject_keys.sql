-- Data keys for crypto-shredding (lib/subject-keys.ts). One row per key: `subject` is a keyed pseudonym
-- (HMAC) of the customer or anonymous id, never the id; `wrapped` is the 32-byte key encrypted with the
-- key-encryption key (CVM_ENCRYPTION_KEY). Event-log records are sealed with their subject's key, so
-- erasing the key makes every copy of those records (embedded log pages, Kafka segments, backups)
-- unreadable. Two reserved subjects hold the PII column key ('!pii') and the pseudonym secret ('!pseudonym').
-- A key is destroyed by a synchronous mutation whose outdated parts are then cleared (lib/ch-purge.ts;
-- NOTE: no table-level old_parts_lifetime: with one set, chDB 3.4 no longer clears outdated parts on DROP PART);
-- `cvm keys rotate-encryption` re-wraps every row under a new key-encryption key.
CREATE TABLE IF NOT EXISTS subject_keys (
  subject String,
  kid String,
  wrapped String,
  created_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY (subject, kid);
