/**
 * The clinic's own users and their passwords: what any app already has before it adds a
 * second step. In memory here; a real app reads them from its database.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
) => Promise<Buffer>;

async function hashPassword(password: string): Promise<{ salt: Buffer; hash: Buffer }> {
  const salt = randomBytes(16);
  return { salt, hash: await scryptAsync(password, salt, 32) };
}

export class Users {
  private constructor(private readonly byEmail: Map<string, { salt: Buffer; hash: Buffer }>) {}

  static async create(accounts: { email: string; password: string }[]): Promise<Users> {
    const entries = await Promise.all(
      accounts.map(async (a) => [a.email.toLowerCase(), await hashPassword(a.password)] as const),
    );
    return new Users(new Map(entries));
  }

  /** The user's email when the password is right, else null; an unknown email costs a hash too. */
  async check(email: string, password: string): Promise<string | null> {
    const key = email.trim().toLowerCase();
    const stored = this.byEmail.get(key) ?? { salt: randomBytes(16), hash: randomBytes(32) };
    const hash = await scryptAsync(password, stored.salt, 32);
    return timingSafeEqual(hash, stored.hash) && this.byEmail.has(key) ? key : null;
  }
}
