-- An organization is reached by a short readable slug as well as its id (`/login?org=happy-paws`).
-- Existing organizations get one from their name: lowercase, accents dropped, anything else a
-- hyphen, at most 40 characters; a second organization of the same name gets its id's first
-- characters appended. New ones get theirs from packages/core's slugify when they are created.
ALTER TABLE "organizations" ADD COLUMN "slug" text;--> statement-breakpoint
WITH base AS (
  SELECT id, created_at,
    coalesce(nullif(trim(both '-' FROM left(trim(both '-' FROM regexp_replace(
      translate(lower(name), 'äåáàâãāçčćéèêëēěíìîïīñńóòôõöøōšśúùûüūůýÿžźż',
                             'aaaaaaaccceeeeeeiiiiinnooooooossuuuuuuyyzzz'),
      '[^a-z0-9]+', '-', 'g')), 40)), ''), 'org') AS slug
  FROM "organizations"
), numbered AS (
  SELECT id, slug, row_number() OVER (PARTITION BY slug ORDER BY created_at, id) AS n FROM base
)
UPDATE "organizations" o
SET "slug" = CASE WHEN numbered.n = 1 THEN numbered.slug
  ELSE left(numbered.slug, 31) || '-' || left(replace(o.id::text, '-', ''), 8) END
FROM numbered WHERE numbered.id = o.id;--> statement-breakpoint
ALTER TABLE "organizations" ALTER COLUMN "slug" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_slug" ON "organizations" USING btree ("slug");
