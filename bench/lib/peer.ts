import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import type { BenchConfig } from './config.ts';
import { FAKE_TWILIO_ACCOUNT_SID, FAKE_TWILIO_AUTH_TOKEN, TWILIO_FROM } from './constants.ts';
import { expectStatus, request } from './flows.ts';
import { type Child, freePort, nextMessage, REPO_ROOT, startChild } from './procs.ts';
import { mapLimit, nextPhone } from './seed.ts';
import { type BenchDatabase, createDatabase } from './stack.ts';

export const PEER_DIR = join(REPO_ROOT, 'bench/peers/better-auth');
const PEER_SECRET = 'bench-better-auth-secret-0123456789abcdef';

/** Installs the peer from its own lock file, apart from the product's dependencies. */
export function installPeer(): void {
  if (existsSync(join(PEER_DIR, 'node_modules/better-auth/package.json'))) return;
  const lock = existsSync(join(PEER_DIR, 'package-lock.json'));
  console.error(`installing the peer (npm ${lock ? 'ci' : 'install'} --prefix ${PEER_DIR}) ...`);
  execFileSync(
    'npm',
    [lock ? 'ci' : 'install', '--prefix', PEER_DIR, '--no-audit', '--no-fund', '--loglevel=error'],
    { stdio: 'inherit' },
  );
}

export interface PeerUser {
  id: string;
  email: string;
  phone: string;
  password: string;
}

export class Peer {
  url = '';
  origin: Record<string, string> = {};
  private child: Child | null = null;
  private db: BenchDatabase | null = null;

  constructor(private readonly config: BenchConfig) {}

  async start(sinkUrl: string): Promise<void> {
    this.db = await createDatabase(this.config.pgBase, 'peer');
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    // A browser sends Origin; better-auth refuses POSTs from fetch clients without it.
    this.origin = { origin: this.url };
    this.child = startChild('peer-better-auth', 'bench/peers/better-auth/server.ts', [], {
      ipc: true,
      env: {
        NODE_ENV: 'production',
        PORT: String(port),
        DATABASE_URL: this.db.url,
        POOL_SIZE: String(this.config.apiPoolSize),
        BETTER_AUTH_SECRET: PEER_SECRET,
        TWILIO_API_BASE_URL: sinkUrl,
        TWILIO_ACCOUNT_SID: FAKE_TWILIO_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: FAKE_TWILIO_AUTH_TOKEN,
        TWILIO_FROM,
      },
    });
    await nextMessage(this.child, (msg) =>
      (msg as { type?: string }).type === 'ready' ? true : undefined,
    );
  }

  /**
   * `n` users with 2FA on and a phone each. The first `withPassword` sign up through the API
   * (one password hash each) for the full logins; the rest, who only ever do the second step,
   * are written to the user table directly, as a sign-up would leave them minus the account.
   */
  async createUsers(n: number, withPassword: number, password: string): Promise<PeerUser[]> {
    const signedUp = await mapLimit(
      Array.from({ length: Math.min(n, withPassword) }),
      8,
      async () => {
        const phone = nextPhone();
        const email = `p${phone.slice(1)}@bench.example`;
        const res = await request<{ user: { id: string } }>(`${this.url}/api/auth/sign-up/email`, {
          headers: this.origin,
          body: { email, password, name: email, phone },
        });
        expectStatus(res, 200, 'peer sign-up');
        return { id: res.body.user.id, email, phone, password };
      },
    );
    const written = Array.from({ length: n - signedUp.length }, () => {
      const phone = nextPhone();
      return {
        id: randomBytes(16).toString('hex'),
        email: `p${phone.slice(1)}@bench.example`,
        phone,
        password,
      };
    });
    const sql = postgres(this.db!.url, { max: 1, onnotice: () => {} });
    try {
      if (written.length) {
        await sql`insert into "user" ${sql(
          written.map((u) => ({
            id: u.id,
            name: u.email,
            email: u.email,
            emailVerified: false,
            createdAt: new Date(),
            updatedAt: new Date(),
            phone: u.phone,
          })),
        )}`;
      }
      const users = [...signedUp, ...written];
      await sql`update "user" set "twoFactorEnabled" = true where id = any(${users.map((u) => u.id)})`;
      return users;
    } finally {
      await sql.end();
    }
  }

  /** A fresh two_factor cookie: the state right after a right password. */
  async pastPassword(userId: string): Promise<string> {
    const res = await request(`${this.url}/api/auth/bench/past-password`, {
      headers: this.origin,
      body: { userId },
    });
    expectStatus(res, 200, 'peer past-password');
    return twoFactorCookie(res.cookies);
  }

  async stop(): Promise<void> {
    await this.child?.stop();
    await this.db?.drop();
  }
}

export function twoFactorCookie(setCookies: string[]): string {
  const cookie = setCookies
    .map((c) => c.split(';', 1)[0]!)
    .find(
      (c) => c.startsWith('better-auth.two_factor=') && c.length > 'better-auth.two_factor='.length,
    );
  if (!cookie) throw new Error('no two_factor cookie in the answer');
  return cookie;
}
