/**
 * Operator commands: `npm run cli -- <command> [options]`. Reads the same
 * environment as the API and worker, and goes through the same repository
 * functions. Results are printed as one JSON line on stdout; notes and errors
 * go to stderr.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { type Config, loadConfig } from '@twofa/config';
import { CreateOrganizationBody, CreditTopUpBody } from '@twofa/contract';
import type { Database } from '@twofa/db';
import type { QueueConnections } from '@twofa/queue';
import type { z } from 'zod';

// Each command loads only what it uses: the worker and the Twilio SDK take seconds to import.
const db = () => import('@twofa/db');
const core = () => import('@twofa/core');

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  org:create --name NAME [--country CC] [--auth-method password|saml2|ldap]
      Create an organization; prints its id and API key (shown this once).
  credits:add --org ID --amount N [--reference TEXT]
      Add N SMS credits to an organization; prints the new balance.
  queue:counts
      Jobs in the send queue, by state.
  queue:retry-failed
      Move every failed send job back to waiting.
  reconcile
      Run the worker's reconciler once: re-enqueue sends that lost their job,
      mark long-stuck ones unknown, and re-enqueue overdue webhook deliveries
      that have no job.
  keys:rotate
      A new signing key for the hosted prompt's ID tokens. The old key stays
      published in the JWKS until the tokens it signed expired; running APIs
      sign with the new one within a minute.
  secrets:reseal
      After APP_SECRET rotated (the old one in APP_SECRET_PREVIOUS): re-seal
      authenticator secrets, webhook secrets and signing keys under the new
      APP_SECRET; prints how many per table, and how many no configured secret
      opens. Safe to run again and while the service runs.

Configuration comes from the environment (DATABASE_URL, REDIS_URL, QUEUE_PREFIX, ...).`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REDIS_CONNECT_TIMEOUT_MS = 5_000;

/** A mistake in how the command was called: exit 2 with the message. */
class UsageError extends Error {}
/** The command ran but could not do what was asked: exit 1. */
class CommandError extends Error {}

type Options = Record<string, string | boolean | undefined>;

/**
 * Checks flags with the schema the API checks the same request body with.
 * `flags` maps each body field to its flag; the first problem is the message.
 */
function validate<S extends z.ZodType>(
  schema: S,
  options: Options,
  flags: Record<string, string>,
  input: Record<string, unknown>,
): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  const flag = flags[field] ?? field;
  if (options[flag] === undefined) throw new UsageError(`--${flag} is required`);
  throw new UsageError(`--${flag} ${JSON.stringify(options[flag])}: ${issue?.message}`);
}

/** A flag that the API takes as a JSON number: numeric text becomes one, anything else stays text. */
function numeric(value: string | boolean | undefined): unknown {
  return typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
}

function print(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Opens only what a command needs, and closes it whatever happens. */
class Resources {
  #db: Database | null = null;
  #queue: QueueConnections | null = null;

  constructor(readonly config: Config) {}

  async db(): Promise<Database> {
    const { createDb } = await db();
    this.#db ??= createDb(this.config.env.DATABASE_URL, {
      max: 2,
      applicationName: 'twofa-cli',
      prepare: this.config.env.DATABASE_PREPARED_STATEMENTS,
    });
    return this.#db;
  }

  async queue(): Promise<QueueConnections> {
    if (this.#queue) return this.#queue;
    const { createQueueConnections } = await import('@twofa/queue');
    const env = this.config.env;
    // A producer connection fails fast, so wait for it to be up before the first command.
    this.#queue = createQueueConnections(env, 'producer');
    const timeout = AbortSignal.timeout(REDIS_CONNECT_TIMEOUT_MS);
    try {
      await once(this.#queue.redis, 'ready', { signal: timeout });
    } catch {
      const where = env.REDIS_CLUSTER_NODES
        ? `cluster ${env.REDIS_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(',')}`
        : new URL(env.REDIS_URL).host;
      throw new CommandError(`Redis at ${where} is not reachable`);
    }
    return this.#queue;
  }

  async close(): Promise<void> {
    await this.#queue?.close();
    await this.#db?.close();
  }
}

async function orgCreate(res: Resources, options: Options) {
  const body = validate(
    CreateOrganizationBody,
    options,
    { name: 'name', authMethod: 'auth-method', country: 'country' },
    { name: options.name, authMethod: options['auth-method'], country: options.country },
  );
  const [{ createOrganization }, { issueApiKey }, { sql }] = await Promise.all([
    db(),
    core(),
    res.db(),
  ]);
  const { apiKey, apiKeyHash } = issueApiKey(res.config.appSecret);
  const org = await createOrganization(sql, {
    name: body.name,
    authMethod: body.authMethod,
    country: body.country ?? null,
    apiKeyHash,
  });
  print({
    id: org.id,
    name: org.name,
    authMethod: org.authMethod,
    country: org.country,
    apiKey,
  });
  process.stderr.write('The API key is shown this once and stored only as a hash: keep it now.\n');
}

async function creditsAdd(res: Resources, options: Options) {
  const organizationId = options.org;
  if (typeof organizationId !== 'string' || organizationId.trim() === '')
    throw new UsageError('--org is required');
  const { amount, reference } = validate(
    CreditTopUpBody,
    options,
    { amount: 'amount', reference: 'reference' },
    { amount: numeric(options.amount), reference: options.reference },
  );
  if (!UUID.test(organizationId)) throw new CommandError(`No organization ${organizationId}`);
  const [{ addCredits }, { sql }, { MAX_SMS_BALANCE }] = await Promise.all([
    db(),
    res.db(),
    core(),
  ]);
  const topUp = await addCredits(sql, {
    organizationId,
    amount,
    reference: reference ?? null,
    actor: 'platform',
    ip: null,
    via: 'cli',
  });
  if (topUp === null) throw new CommandError(`No organization ${organizationId}`);
  if (topUp.result === 'balance_limit') {
    throw new CommandError(
      `balance_limit: the balance may not exceed ${MAX_SMS_BALANCE}; it is ${topUp.balance}, nothing was added`,
    );
  }
  print({ organizationId, amount, balance: topUp.balance });
}

const COUNT_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'completed',
  'failed',
] as const;

async function queueCounts(res: Resources) {
  const { sendQueue: queue, prefix } = await res.queue();
  const counts = await queue.getJobCounts(...COUNT_STATES);
  print({ queue: queue.name, prefix, counts });
}

async function queueRetryFailed(res: Resources) {
  const { sendQueue: queue } = await res.queue();
  const failed = await queue.getFailedCount();
  // The send processor is idempotent (guarded state changes, one debit per send),
  // so running a failed job again cannot charge or send twice.
  await queue.retryJobs({ state: 'failed' });
  print({ queue: queue.name, retried: failed, failedNow: await queue.getFailedCount() });
}

async function reconcile(res: Resources) {
  const config = res.config;
  const [{ reconcileOnce }, { createLogger }, { systemClock }] = await Promise.all([
    import('@twofa/worker/reconciler'),
    import('@twofa/observability'),
    core(),
  ]);
  const result = await reconcileOnce({
    clock: systemClock,
    logger: createLogger({
      name: 'cli',
      level: config.env.LOG_LEVEL,
      destination: { write: (line: string) => void process.stderr.write(line) },
    }),
    db: await res.db(),
    sendQueue: (await res.queue()).sendQueue,
    webhookQueue: (await res.queue()).webhookQueue,
    providerTimeoutMs: config.env.TWILIO_TIMEOUT_MS,
  });
  print(result);
}

async function keysRotate(res: Resources) {
  const { rotateSigningKeys } = await import('@twofa/api/signing-keys');
  const result = await rotateSigningKeys(await res.db(), res.config.appSecret);
  print(result);
}

async function secretsReseal(res: Resources) {
  const { resealSecrets } = await db();
  print(await resealSecrets((await res.db()).sql, res.config.appSecrets));
}

const COMMANDS: Record<string, (res: Resources, options: Options) => Promise<void>> = {
  'org:create': orgCreate,
  'credits:add': creditsAdd,
  'queue:counts': queueCounts,
  'queue:retry-failed': queueRetryFailed,
  reconcile,
  'keys:rotate': keysRotate,
  'secrets:reseal': secretsReseal,
};

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      country: { type: 'string' },
      'auth-method': { type: 'string' },
      org: { type: 'string' },
      amount: { type: 'string' },
      reference: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const [command, ...extra] = parsed.positionals;
  if (parsed.values.help || command === 'help' || !command) {
    (command || parsed.values.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return command || parsed.values.help ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run || extra.length) {
    process.stderr.write(`Unknown command: ${[command, ...extra].join(' ')}\n\n${USAGE}\n`);
    return 2;
  }

  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const resources = new Resources(config);
  try {
    await run(resources, parsed.values);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(
      `${error instanceof CommandError ? error.message : `Failed: ${(error as Error).message}`}\n`,
    );
    return 1;
  } finally {
    await resources.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
