-- Challenges and SMS sends get time-ordered ids (UUIDv7, RFC 9562: the first 48 bits the
-- creation millisecond, then version 7 and random bits), so each new row's primary key entry
-- (and the sends' (challenge_id, seq) entry) lands at the right edge of its index, where the
-- recent rows every request reads share a few hot pages, instead of on a random page of an
-- index far larger than shared_buffers. The service makes the ids (newId in packages/core) and
-- passes them in every INSERT of these tables; this default is for any other writer (an
-- operator's SQL, a test's fixture) and is time-ordered too: Postgres 15 has no uuidv7(), so it
-- is gen_random_uuid() with the clock's millisecond laid over its first six bytes and the
-- version bits turned from 4 (0100) into 7 (0111). Within one millisecond its ids are not in
-- order (the random bits decide), which costs nothing for locality. Setting a default rewrites
-- no rows. The ledger and audit rows already have time-ordered keys (bigserial). Partitioning
-- challenges and sms_sends by time was weighed and not done: docs/large-data.md says why.
CREATE FUNCTION "uuid_v7"() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
    FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;--> statement-breakpoint
ALTER TABLE "challenges" ALTER COLUMN "id" SET DEFAULT uuid_v7();--> statement-breakpoint
ALTER TABLE "sms_sends" ALTER COLUMN "id" SET DEFAULT uuid_v7();
