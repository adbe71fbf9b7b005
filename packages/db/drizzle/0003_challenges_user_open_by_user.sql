DROP INDEX "challenges_user_open";--> statement-breakpoint
CREATE INDEX "challenges_user_open" ON "challenges" USING btree ("user_id") WHERE "challenges"."status" in ('phone_required', 'pending');