CREATE TABLE "webhooks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"url" text NOT NULL,
	"events" text[] DEFAULT '{}' NOT NULL,
	"secret_sealed" text NOT NULL,
	"failing_since" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"disabled_at" timestamp with time zone,
	"disabled_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhooks_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action
);
--> statement-breakpoint
CREATE INDEX "webhooks_org" ON "webhooks" USING btree ("organization_id", "created_at");
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"webhook_id" uuid NOT NULL,
	"event_id" text NOT NULL,
	"type" text NOT NULL,
	"actor" text NOT NULL,
	"ip" text,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"event_created_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_status_code" integer,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enqueued_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_deliveries_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action,
	CONSTRAINT "webhook_deliveries_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action,
	CONSTRAINT "webhook_deliveries_status" CHECK ("webhook_deliveries"."status" in ('pending', 'delivered', 'failed'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_webhook_event" ON "webhook_deliveries" USING btree ("webhook_id", "event_id");
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_webhook" ON "webhook_deliveries" USING btree ("webhook_id", "id");
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_unqueued" ON "webhook_deliveries" USING btree ("id") WHERE "webhook_deliveries"."status" = 'pending' and "webhook_deliveries"."enqueued_at" is null;
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_pending" ON "webhook_deliveries" USING btree ("created_at") WHERE "webhook_deliveries"."status" = 'pending';
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_created" ON "webhook_deliveries" USING btree ("created_at");
--> statement-breakpoint
-- The outbox. Every audit event, however it is written (recordAudit or a CTE of a larger
-- statement), gets one delivery row per subscribed webhook of its organization in the same
-- transaction. Statement-level with a transition table: one join per statement, which finds
-- nothing (an index probe) for an organization without webhooks.
CREATE FUNCTION "webhook_outbox_audit"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO webhook_deliveries (organization_id, webhook_id, event_id, type, actor, ip, data, event_created_at)
	SELECT e.organization_id, w.id, e.id::text, e.type, e.actor, e.ip, e.data, e.created_at
	FROM new_events e
	JOIN webhooks w ON w.organization_id = e.organization_id
	WHERE w.disabled_at IS NULL AND (cardinality(w.events) = 0 OR e.type = ANY (w.events));
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "audit_events_webhook_outbox" AFTER INSERT ON "audit_events"
	REFERENCING NEW TABLE AS new_events
	FOR EACH STATEMENT EXECUTE FUNCTION "webhook_outbox_audit"();
--> statement-breakpoint
-- challenge_approved and challenge_failed: not audit events (one per login would swamp the
-- log), delivery rows only, written by whatever statement moves a challenge to approved or
-- failed (verify, the worker's send outcomes, the settle pass), in its transaction. The WHEN
-- clause is checked without calling the function, so other updates of a challenge pay nothing.
CREATE FUNCTION "webhook_outbox_challenge"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	event_type text := 'challenge_' || NEW.status;
	event_id text;
BEGIN
	-- The common case, an organization without webhooks, ends on one index probe: a plain
	-- SELECT costs less to run than an INSERT that inserts nothing.
	IF NOT EXISTS (SELECT 1 FROM webhooks w
			WHERE w.organization_id = NEW.organization_id AND w.disabled_at IS NULL) THEN
		RETURN NULL;
	END IF;
	event_id := gen_random_uuid()::text;
	INSERT INTO webhook_deliveries (organization_id, webhook_id, event_id, type, actor, ip, data, event_created_at)
	SELECT NEW.organization_id, w.id, event_id, event_type,
		CASE WHEN NEW.status = 'approved' THEN 'user' ELSE 'system' END, NEW.ip,
		jsonb_strip_nulls(jsonb_build_object('challengeId', NEW.id, 'userId', NEW.user_id,
			'failureReason', NEW.failure_reason)),
		now()
	FROM webhooks w
	WHERE w.organization_id = NEW.organization_id AND w.disabled_at IS NULL
		AND (cardinality(w.events) = 0 OR event_type = ANY (w.events));
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "challenges_webhook_outbox" AFTER UPDATE OF "status" ON "challenges"
	FOR EACH ROW WHEN (NEW.status IN ('approved', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION "webhook_outbox_challenge"();
