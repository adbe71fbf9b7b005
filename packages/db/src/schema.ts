import {
  AUTH_METHODS,
  AUTHENTICATOR_STATUSES,
  FAILURE_REASONS,
  LEDGER_REASONS,
  LOCALES,
  ROLES,
  SECOND_FACTOR_METHODS,
  SEND_STATUSES,
  STORED_CHALLENGE_STATUSES,
  sqlList,
} from '@twofa/core';
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const organizations = pgTable(
  'organizations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** The short readable name the login link can use (`/login?org=happy-paws`), unique. */
    slug: text('slug').notNull(),
    authMethod: text('auth_method', { enum: AUTH_METHODS }).notNull().default('password'),
    country: text('country'),
    /** Language of the organization's SMS texts and pages. */
    locale: text('locale', { enum: LOCALES }).notNull().default('en'),
    twoFactorEnabled: boolean('two_factor_enabled').notNull().default(false),
    skipTwoFactorCidrs: text('skip_two_factor_cidrs').array().notNull().default(sql`'{}'`),
    smsAllowedCountries: text('sms_allowed_countries').array().notNull().default(sql`'{}'`),
    /** Cached sum of the ledger, kept in step by the same statements that write it. */
    smsBalance: integer('sms_balance').notNull().default(0),
    lowBalanceThreshold: integer('low_balance_threshold').notNull().default(20),
    /** The second factors its people may use (`methods` of the password settings). */
    secondFactorMethods: text('second_factor_methods', { enum: SECOND_FACTOR_METHODS })
      .array()
      .notNull()
      .default(sql`'{sms,totp,backup_code}'`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('organizations_slug').on(t.slug),
    check(
      'organizations_second_factor_methods',
      sql`cardinality(${t.secondFactorMethods}) > 0 and ${t.secondFactorMethods} <@ array[${sql.raw(sqlList(SECOND_FACTOR_METHODS))}]::text[]`,
    ),
    check('organizations_sms_balance_non_negative', sql`${t.smsBalance} >= 0`),
    check('organizations_auth_method', sql`${t.authMethod} in (${sql.raw(sqlList(AUTH_METHODS))})`),
    check('organizations_locale', sql`${t.locale} in (${sql.raw(sqlList(LOCALES))})`),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_keys_key_hash').on(t.keyHash)],
);

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    passwordHash: text('password_hash'),
    phone: text('phone'),
    twoFactorDisabled: boolean('two_factor_disabled').notNull().default(false),
    role: text('role', { enum: ROLES }).notNull().default('member'),
    /** Wrong codes in a row over all of the user's challenges; a right code resets it. */
    consecutiveCodeFailures: integer('consecutive_code_failures').notNull().default(0),
    /** Set when the consecutive failures reach the cap; a right password then answers 423. */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('users_org_email').on(t.organizationId, sql`lower(${t.email})`),
    check('users_role', sql`${t.role} in (${sql.raw(sqlList(ROLES))})`),
  ],
);

export const trustedDevices = pgTable(
  'trusted_devices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('trusted_devices_token_hash').on(t.tokenHash),
    index('trusted_devices_user').on(t.organizationId, t.userId),
  ],
);

/**
 * A user's authenticator app (TOTP): one per user. The secret is sealed
 * (AES-256-GCM under a key derived from APP_SECRET, the user's id as context)
 * since checking a code needs it back. `pending` until a first code confirms
 * it; `last_used_step` refuses a step used once.
 */
export const authenticators = pgTable(
  'authenticators',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    secretSealed: text('secret_sealed').notNull(),
    status: text('status', { enum: AUTHENTICATOR_STATUSES }).notNull(),
    lastUsedStep: bigint('last_used_step', { mode: 'number' }),
    createdAt: createdAt(),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
  },
  (t) => [
    index('authenticators_org').on(t.organizationId, t.userId),
    check(
      'authenticators_status',
      sql`${t.status} in (${sql.raw(sqlList(AUTHENTICATOR_STATUSES))})`,
    ),
  ],
);

/** Single-use backup codes, as keyed hashes (the user's id as context); `used_at` once spent. */
export const backupCodes = pgTable(
  'backup_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('backup_codes_user_hash').on(t.userId, t.codeHash),
    index('backup_codes_org_user').on(t.organizationId, t.userId),
  ],
);

export const challenges = pgTable(
  'challenges',
  {
    /** A UUIDv7 the service makes (newId); the default, uuid_v7() (migration 0011), is time-ordered too. */
    id: uuid('id').primaryKey().default(sql`uuid_v7()`),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: text('status', { enum: STORED_CHALLENGE_STATUSES }).notNull(),
    /** Where codes go: the user's phone, or one submitted through /phone (saved on approval). */
    phone: text('phone'),
    phoneSubmitted: boolean('phone_submitted').notNull().default(false),
    ip: text('ip').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    wrongAttempts: integer('wrong_attempts').notNull().default(0),
    sendCount: integer('send_count').notNull().default(0),
    lastSendAt: timestamp('last_send_at', { withTimezone: true }),
    currentSendId: uuid('current_send_id'),
    failureReason: text('failure_reason', { enum: FAILURE_REASONS }),
    /** What it accepts, in the order the page offers them (fixed when it starts). */
    methods: text('methods', { enum: SECOND_FACTOR_METHODS })
      .array()
      .notNull()
      .default(sql`'{sms,backup_code}'`),
    approvedAt: timestamp('approved_at', { withTimezone: true }),
    /** Closed before it finished: the phone or password changed, or the user was locked. */
    canceledAt: timestamp('canceled_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('challenges_org').on(t.organizationId, t.createdAt),
    /** The retention job's oldest-first batches over all organizations. */
    index('challenges_created').on(t.createdAt),
    // By user alone (ids are unique across organizations): a plan that picks it for a
    // challenge's own row reads that user's few open challenges, never a whole
    // organization's.
    index('challenges_user_open')
      .on(t.userId)
      .where(sql`${t.status} in ('phone_required', 'pending')`),
    check(
      'challenges_status',
      sql`${t.status} in (${sql.raw(sqlList(STORED_CHALLENGE_STATUSES))})`,
    ),
    check('challenges_wrong_attempts', sql`${t.wrongAttempts} between 0 and 5`),
    check('challenges_send_count', sql`${t.sendCount} between 0 and 5`),
  ],
);

export const smsSends = pgTable(
  'sms_sends',
  {
    /** A UUIDv7 the service makes (newId); the default, uuid_v7() (migration 0011), is time-ordered too. */
    id: uuid('id').primaryKey().default(sql`uuid_v7()`),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    challengeId: uuid('challenge_id')
      .notNull()
      .references(() => challenges.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    phone: text('phone').notNull(),
    status: text('status', { enum: SEND_STATUSES }).notNull().default('queued'),
    /** HMAC of the code this send carries; the code itself is never stored. */
    codeHash: text('code_hash'),
    providerSid: text('provider_sid'),
    errorCode: text('error_code'),
    providerAttempts: integer('provider_attempts').notNull().default(0),
    verifiedAt: timestamp('verified_at', { withTimezone: true }),
    createdAt: createdAt(),
    sendingAt: timestamp('sending_at', { withTimezone: true }),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('sms_sends_challenge_seq').on(t.challengeId, t.seq),
    index('sms_sends_open')
      .on(t.updatedAt)
      .where(sql`${t.status} in ('queued', 'sending', 'retrying')`),
    index('sms_sends_org_created').on(t.organizationId, t.createdAt),
    /** The reconciler's settle pass: sends whose outcome was lost, by claim time. */
    index('sms_sends_unknown').on(t.sendingAt).where(sql`${t.status} = 'unknown'`),
    index('sms_sends_verified_phone')
      .on(t.organizationId, t.phone)
      .where(sql`${t.verifiedAt} is not null`),
    uniqueIndex('sms_sends_provider_sid').on(t.providerSid),
  ],
);

export const smsLedger = pgTable(
  'sms_ledger',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    delta: integer('delta').notNull(),
    reason: text('reason', { enum: LEDGER_REASONS }).notNull(),
    /** The send a debit or refund belongs to: at most one of each per send. */
    sendId: uuid('send_id'),
    reference: text('reference'),
    balanceAfter: integer('balance_after').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('sms_ledger_org').on(t.organizationId, t.id),
    uniqueIndex('sms_ledger_send_reason')
      .on(t.sendId, t.reason)
      .where(sql`${t.sendId} is not null`),
  ],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    actor: text('actor').notNull(),
    ip: text('ip'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index('audit_events_org').on(t.organizationId, t.id)],
);

/**
 * A logged-in browser of the pages: the cookie holds a random token, this row
 * only its hash, so a database read reveals no session.
 */
export const webSessions = pgTable(
  'web_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('web_sessions_token_hash').on(t.tokenHash),
    index('web_sessions_user').on(t.organizationId, t.userId),
  ],
);

/**
 * A client's Idempotency-Key and the answer it got, stored in the same
 * transaction as the work it describes. `scope` is an organization id, or
 * `platform` for platform-key routes.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    /** `METHOD path` of the first request. */
    route: text('route').notNull(),
    /** Hash of the first request's body, to tell a repeat from a reuse. */
    requestHash: text('request_hash').notNull(),
    /** Null while the first request is still being processed. */
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.key] }),
    index('idempotency_keys_expires').on(t.expiresAt),
  ],
);

/**
 * An organization's outbound webhook. The signing secret is sealed with
 * APP_SECRET (purpose `webhook-secret`, the row's id as context): readable to
 * sign, never stored in clear. A webhook with no success for days is disabled
 * (`disabled_at`, `disabled_reason`) and gets no new deliveries.
 */
export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    /** Event types it gets; empty means all. */
    events: text('events').array().notNull().default(sql`'{}'`),
    secretSealed: text('secret_sealed').notNull(),
    /** The first failure since the last success: the clock for disabling it. */
    failingSince: timestamp('failing_since', { withTimezone: true }),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    disabledReason: text('disabled_reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('webhooks_org').on(t.organizationId, t.createdAt)],
);

/**
 * The outbox: one row per (event, subscribed webhook), written by triggers on
 * `audit_events` and `challenges` in the transaction of the change (see
 * migration 0005), carrying the event as it is sent. The worker's dispatcher
 * enqueues unqueued rows; the reconciler re-enqueues due rows whose job is gone.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    /** The `webhook-id` header and the body's `id`: the same on every retry. */
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    actor: text('actor').notNull(),
    ip: text('ip'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    eventCreatedAt: timestamp('event_created_at', { withTimezone: true }).notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_webhook_event').on(t.webhookId, t.eventId),
    index('webhook_deliveries_webhook').on(t.webhookId, t.id),
    index('webhook_deliveries_unqueued')
      .on(t.id)
      .where(sql`${t.status} = 'pending' and ${t.enqueuedAt} is null`),
    /** Few rows (the undelivered): the reconciler's pass and the oldest-undelivered gauge. */
    index('webhook_deliveries_pending').on(t.createdAt).where(sql`${t.status} = 'pending'`),
    index('webhook_deliveries_created').on(t.createdAt),
    check('webhook_deliveries_status', sql`${t.status} in ('pending', 'delivered', 'failed')`),
  ],
);

/** An organization's OpenID Connect client for the hosted prompt. */
export const apps = pgTable(
  'apps',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    clientId: text('client_id').notNull(),
    name: text('name').notNull(),
    redirectUris: text('redirect_uris').array().notNull(),
    /** Keyed hash of the client secret; the secret itself is shown once and never stored. */
    clientSecretHash: text('client_secret_hash').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('apps_client_id').on(t.clientId),
    index('apps_organization').on(t.organizationId, t.createdAt).where(sql`${t.deletedAt} is null`),
    check('apps_redirect_uris_count', sql`cardinality(${t.redirectUris}) between 1 and 10`),
  ],
);

/**
 * oidc-provider's storage up to round 7 (sessions, interactions, PAR requests, codes, grants,
 * tokens). They live in Redis now (apps/api/src/prompt/store.ts); the table is no longer written
 * and stays one release for a rolling upgrade's old replicas, drained by the worker's retention.
 */
export const oidcPayloads = pgTable(
  'oidc_payloads',
  {
    kind: text('kind').notNull(),
    id: text('id').notNull(),
    payload: jsonb('payload').notNull(),
    grantId: text('grant_id'),
    uid: text('uid'),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.kind, t.id] }),
    index('oidc_payloads_grant').on(t.grantId).where(sql`${t.grantId} is not null`),
    index('oidc_payloads_uid').on(t.uid).where(sql`${t.uid} is not null`),
    index('oidc_payloads_expires').on(t.expiresAt),
  ],
);

/** The prompt's ID token signing keys; the private half sealed under APP_SECRET. */
export const oidcSigningKeys = pgTable(
  'oidc_signing_keys',
  {
    kid: text('kid').primaryKey(),
    publicJwk: jsonb('public_jwk').notNull(),
    sealedPrivateJwk: text('sealed_private_jwk').notNull(),
    createdAt: createdAt(),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('oidc_signing_keys_one_active').on(sql`(true)`).where(sql`${t.retiredAt} is null`),
  ],
);
