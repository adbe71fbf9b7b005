import { generateToken, hashSecret } from '@twofa/core';
import { ADMIN_API_KEY, APP_SECRET } from './constants.ts';
import type { Sql } from './stack.ts';

export interface Org {
  id: string;
  apiKey: string;
  auth: string;
}

export interface User {
  id: string;
  org: Org;
  email: string;
  phone: string;
  password: string | null;
}

export class ApiCallError extends Error {}

/** One JSON call to the API; throws with the problem body on anything but 2xx. */
export async function call<T>(
  baseUrl: string,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new ApiCallError(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

let phoneSeq = 0;
/** Distinct valid Finnish mobile numbers, one per user, so an SMS names its user. */
export const nextPhone = () => `+35840${String(++phoneSeq).padStart(7, '0')}`;

/** An organization with 2FA on and credit for every send the bench can make. */
export async function createOrg(baseUrl: string, name: string): Promise<Org> {
  const org = await call<{ id: string; apiKey: string }>(
    baseUrl,
    'POST',
    '/v1/organizations',
    ADMIN_API_KEY,
    { name },
  );
  await call(baseUrl, 'POST', `/v1/organizations/${org.id}/sms-credits`, ADMIN_API_KEY, {
    amount: 10_000_000,
  });
  await call(baseUrl, 'PATCH', '/v1/settings/password', org.apiKey, { twoFactorEnabled: true });
  return { id: org.id, apiKey: org.apiKey, auth: `Bearer ${org.apiKey}` };
}

export async function createUser(
  baseUrl: string,
  org: Org,
  opts: { password?: string } = {},
): Promise<User> {
  const phone = nextPhone();
  const email = `u${phone.slice(1)}@bench.example`;
  const user = await call<{ id: string }>(baseUrl, 'POST', '/v1/users', org.apiKey, {
    email,
    phone,
    ...(opts.password && { password: opts.password }),
  });
  return { id: user.id, org, email, phone, password: opts.password ?? null };
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

/**
 * Trusted devices written straight to the table, as a verified challenge would leave them:
 * making thousands through the SMS flow would only slow the setup.
 */
export async function trustDevices(sql: Sql, user: User, count: number): Promise<string[]> {
  const tokens = Array.from({ length: count }, () => generateToken('tfd'));
  const rows = tokens.map((token) => ({
    organization_id: user.org.id,
    user_id: user.id,
    token_hash: hashSecret(APP_SECRET, 'device-token', token),
    expires_at: new Date(Date.now() + 30 * 86_400_000),
  }));
  await sql`insert into trusted_devices ${sql(rows)}`;
  return tokens;
}

/**
 * `n` distinct /24 blocks in 10.0.0.0/8, already normalized, none adjacent to another so the
 * matcher cannot merge them into fewer ranges.
 */
export function skipList(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${(i >> 7) & 255}.${(i & 127) * 2}.0/24`);
}

/**
 * Written to the column directly: a list of 10,000 blocks is over the API's 64 KiB body
 * limit. The blocks are already in the normalized form the API would store.
 */
export async function setSkipList(sql: Sql, org: Org, cidrs: string[]): Promise<void> {
  await sql`update organizations set skip_two_factor_cidrs = ${cidrs}::text[] where id = ${org.id}`;
}
