/**
 * Lever: the API's rate-limit scripts on a connection of their own with ioredis's
 * auto-pipelining, which writes the commands issued in one turn of the event loop in one
 * socket write (and Redis reads them in one), instead of one write per command on the
 * connection BullMQ also uses. Before: `RedisWindows.run` on a plain connection; after: the
 * same on an auto-pipelined one. 50 callers at once, as the bench's 50 HTTP connections.
 * Prints this process's CPU per call (the ab table) and Redis's own CPU per call (from INFO).
 *
 *   node --import tsx bench/levers/redis-autopipeline.ts     LEVERS_N=20000 LEVERS_ROUNDS=6
 */
import { randomBytes } from 'node:crypto';
import { RedisWindows } from '@twofa/api/fixed-window';
import { createRedis } from '@twofa/queue';
import { ab, intEnv, pooled, printTable } from './ab.ts';

const N = intEnv('LEVERS_N', 20_000);
const ROUNDS = intEnv('LEVERS_ROUNDS', 6);
const CONCURRENCY = intEnv('LEVERS_CONCURRENCY', 50);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `twofa-levers-${randomBytes(4).toString('hex')}`;

const plain = createRedis(url, 'producer');
const pipelined = createRedis(url, 'producer', { enableAutoPipelining: true });
for (const r of [plain, pipelined]) {
  if (r.status !== 'ready') await new Promise((resolve) => r.once('ready', resolve));
}

/** Redis's own CPU seconds so far (user + system), from INFO. */
async function redisCpuS(): Promise<number> {
  const info = await plain.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

const redisUs: Record<'before' | 'after', number[]> = { before: [], after: [] };

function round(which: 'before' | 'after', redis: typeof plain) {
  const windows = new RedisWindows(redis);
  return async () => {
    const cpu = await redisCpuS();
    await pooled(N, CONCURRENCY, async (i) => {
      const [refused] = await windows.run({
        give: [],
        keep: [{ key: `${prefix}:ip:${i % 1000}`, points: 1_000_000_000, durationMs: 60_000 }],
        take: [],
      });
      if (refused) throw new Error('refused');
    });
    redisUs[which].push((((await redisCpuS()) - cpu) * 1e6) / N);
    return N;
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const result = await ab(
    `rate-limit script, ${CONCURRENCY} at once`,
    { before: round('before', plain), after: round('after', pipelined) },
    { rounds: ROUNDS },
  );
  printTable([result]);
  // The warmup's rounds come first in each list: left out.
  const b = median(redisUs.before.slice(1));
  const a = median(redisUs.after.slice(1));
  console.log(
    `| ${result.lever} | Redis CPU µs/op | ${b.toFixed(1)} | ${a.toFixed(1)} | ${(a / b).toFixed(2)} | ${ROUNDS} |`,
  );
} finally {
  const keys = await plain.keys(`${prefix}:*`);
  if (keys.length) await plain.del(...keys);
  plain.disconnect();
  pipelined.disconnect();
}
