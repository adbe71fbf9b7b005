import {
  openSecret,
  SealedSecretError,
  type SealPurpose,
  sealKeyId,
  sealSecret,
} from '@twofa/core';
import type { Sql } from '../client.ts';

/** Every column holding a sealed secret: its table, the row key that is its context, its purpose. */
const SEALED_COLUMNS = [
  { table: 'authenticators', column: 'secret_sealed', key: 'user_id', purpose: 'totp-secret' },
  { table: 'webhooks', column: 'secret_sealed', key: 'id', purpose: 'webhook-secret' },
  {
    table: 'oidc_signing_keys',
    column: 'sealed_private_jwk',
    key: 'kid',
    purpose: 'oidc-signing-key',
  },
] as const satisfies readonly {
  table: string;
  column: string;
  key: string;
  purpose: SealPurpose;
}[];

const BATCH = 500;

export interface ResealCount {
  /** Sealed under an earlier APP_SECRET, now under the current one. */
  resealed: number;
  /** Sealed under a secret that is not configured: left as it is, and unreadable. */
  unreadable: number;
}

/**
 * After APP_SECRET rotated: re-seals every sealed secret (authenticator
 * secrets, webhook secrets, the prompt's signing keys) that is still under an
 * earlier secret in `appSecrets` under the current one (the first). Each row is
 * replaced only if it still holds what was read, so a secret changed meanwhile
 * is left to its new value. Safe to run again, and while the service runs.
 */
export async function resealSecrets(
  sql: Sql,
  appSecrets: readonly string[],
): Promise<Record<string, ResealCount>> {
  const [current] = appSecrets;
  if (!current) throw new Error('no APP_SECRET to seal with');
  const keyId = sealKeyId(current);
  const counts: Record<string, ResealCount> = {};
  for (const { table, column, key, purpose } of SEALED_COLUMNS) {
    const count: ResealCount = { resealed: 0, unreadable: 0 };
    let after = '';
    for (;;) {
      const rows = await sql<{ key: string; sealed: string }[]>`
        select ${sql(key)}::text as key, ${sql(column)} as sealed from ${sql(table)}
        where split_part(${sql(column)}, '.', 2) <> ${keyId} and ${sql(key)}::text > ${after}
        order by ${sql(key)}::text limit ${BATCH}`;
      for (const row of rows) {
        let plaintext: string;
        try {
          plaintext = openSecret(appSecrets, purpose, row.sealed, row.key);
        } catch (error) {
          if (!(error instanceof SealedSecretError)) throw error;
          count.unreadable++;
          continue;
        }
        const resealed = sealSecret(current, purpose, plaintext, row.key);
        const updated = await sql`
          update ${sql(table)} set ${sql(column)} = ${resealed}
          where ${sql(key)}::text = ${row.key} and ${sql(column)} = ${row.sealed}`;
        count.resealed += updated.count;
      }
      if (rows.length < BATCH) break;
      after = rows.at(-1)?.key ?? after;
    }
    counts[table] = count;
  }
  return counts;
}
