import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Sql } from './stack.ts';

/** Linux's USER_HZ: /proc times are in these ticks. */
const TICKS_PER_SECOND = 100;

/** User + system CPU milliseconds a process has used, or null where /proc is not there. */
function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

export type CpuGroups = Record<string, number[]>;

/**
 * Where the CPU went during a run, per component: our processes, the Postgres backends serving
 * the bench database, the Redis server, and this process (the load generator). Postgres's
 * background writers and anything else sharing the machine are not counted.
 */
export class CpuMeter {
  private redisPid: number | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly database: string,
    private readonly redisUrl: string,
  ) {}

  private async backends(): Promise<number[]> {
    const rows = await this.sql<{ pid: number }[]>`
      select pid from pg_stat_activity where datname = ${this.database} and pid <> pg_backend_pid()`;
    return rows.map((r) => r.pid);
  }

  private async redis(): Promise<number[]> {
    if (this.redisPid === null) {
      const client = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await client.connect();
        const info = await client.info('server');
        this.redisPid = Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0);
      } finally {
        client.disconnect();
      }
    }
    return this.redisPid ? [this.redisPid] : [];
  }

  /** Starts measuring; the returned function ends it and gives CPU ms per group. */
  async start(groups: CpuGroups): Promise<() => Promise<Record<string, number>>> {
    const all: CpuGroups = {
      ...groups,
      postgres: await this.backends(),
      redis: await this.redis(),
    };
    const before = new Map<number, number>();
    for (const pid of Object.values(all).flat()) before.set(pid, cpuMs(pid) ?? 0);
    const self = process.cpuUsage();
    return async () => {
      const selfUsed = process.cpuUsage(self);
      // Backends opened during the run started from zero.
      const late = (await this.backends()).filter((pid) => !before.has(pid));
      all.postgres = [...(all.postgres ?? []), ...late];
      const out: Record<string, number> = {};
      for (const [group, pids] of Object.entries(all)) {
        // A process gone by now (a backend of a pool that just closed) took its last CPU
        // reading with it: count nothing for it rather than minus what it had before.
        out[group] = pids.reduce((sum, pid) => {
          const now = cpuMs(pid);
          return now === null ? sum : sum + (now - (before.get(pid) ?? 0));
        }, 0);
      }
      out.loadgen = (selfUsed.user + selfUsed.system) / 1000;
      return out;
    };
  }
}

/** CPU ms per operation, per component, rounded. */
export function perOp(used: Record<string, number>, ops: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [group, ms] of Object.entries(used)) out[group] = Math.round((ms / ops) * 1000) / 1000;
  out.total = Math.round((Object.values(used).reduce((a, b) => a + b, 0) / ops) * 1000) / 1000;
  return out;
}
