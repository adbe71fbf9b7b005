import { describe, expect, it } from 'vitest';
import {
  isPublicAddress,
  isWebhookEventType,
  type LookupAll,
  parseWebhookUrl,
  resolveWebhookTarget,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_URL_MAX_LENGTH,
  WebhookTargetError,
} from './webhooks.ts';

const ON = { allowPrivate: false };
const OFF = { allowPrivate: true };

/** A resolver answering from a table: no query leaves the process. */
const table =
  (answers: Record<string, string[]>): LookupAll =>
  async (hostname) => {
    const addresses = answers[hostname];
    if (!addresses) throw new Error('ENOTFOUND');
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

function problemOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof WebhookTargetError ? error.problem : 'other';
  }
}

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '240.0.0.1',
    '::1',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '2002:7f00:1::1',
    '64:ff9b::a00:1',
    '2001:db8::1',
    'not an address',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'accepts %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

describe('parseWebhookUrl', () => {
  it.each([
    ['http://example.com/hook', 'scheme'],
    ['ftp://example.com/hook', 'scheme'],
    ['https://user:pw@example.com/hook', 'malformed'],
    ['not a url', 'malformed'],
    ['https://127.0.0.1/hook', 'address'],
    ['https://0x7f.1/hook', 'address'],
    ['https://2130706433/hook', 'address'],
    ['https://10.0.0.1/hook', 'address'],
    ['https://172.16.0.1/hook', 'address'],
    ['https://192.168.0.1/hook', 'address'],
    ['https://169.254.169.254/latest/meta-data', 'address'],
    ['https://[fc00::1]/hook', 'address'],
    ['https://[fe80::1]/hook', 'address'],
    ['https://224.0.0.1/hook', 'address'],
    ['https://[ff02::1]/hook', 'address'],
    ['https://0.0.0.0/hook', 'address'],
    ['https://[::ffff:127.0.0.1]/hook', 'address'],
    ['https://[::ffff:10.0.0.1]/hook', 'address'],
    ['https://[::1]/hook', 'address'],
  ])('refuses %s (%s) with the rules on', (url, problem) => {
    expect(problemOf(() => parseWebhookUrl(url, ON))).toBe(problem);
  });

  it('refuses an over-long URL at the limit, a bare credential, and says why in words', () => {
    const at = `https://hooks.example.com/${'a'.repeat(WEBHOOK_URL_MAX_LENGTH - 26)}`;
    expect(at).toHaveLength(WEBHOOK_URL_MAX_LENGTH);
    expect(problemOf(() => parseWebhookUrl(at, ON))).toBeNull();
    expect(problemOf(() => parseWebhookUrl(`${at}b`, ON))).toBe('malformed');
    expect(problemOf(() => parseWebhookUrl('https://user@example.com/', ON))).toBe('malformed');
    expect(problemOf(() => parseWebhookUrl('https://:pw@example.com/', ON))).toBe('malformed');
    expect(problemOf(() => parseWebhookUrl('https://example.com/', OFF))).toBeNull();
    for (const [url, words] of [
      [`${at}b`, /longer than 2048/],
      ['not a url', /not an absolute URL/],
      ['http://example.com/', /must use https, not http:/],
      ['https://u:p@example.com/', /credentials/],
      ['https://10.0.0.1/', /10\.0\.0\.1 is not a public address/],
    ] as const) {
      let caught: unknown;
      try {
        parseWebhookUrl(url, ON);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(WebhookTargetError);
      expect((caught as Error).name).toBe('WebhookTargetError');
      expect((caught as Error).message).toMatch(words);
    }
  });

  it('accepts public https URLs, and http and private ones when allowed', () => {
    expect(parseWebhookUrl('https://hooks.example.com/in?x=1', ON).href).toBe(
      'https://hooks.example.com/in?x=1',
    );
    expect(parseWebhookUrl('https://93.184.215.14/hook', ON).hostname).toBe('93.184.215.14');
    expect(parseWebhookUrl('http://127.0.0.1:8080/hook', OFF).port).toBe('8080');
    expect(problemOf(() => parseWebhookUrl('ftp://127.0.0.1/', OFF))).toBe('scheme');
  });
});

describe('resolveWebhookTarget', () => {
  const lookup = table({
    'public.example': ['93.184.215.14', '2606:4700::1111'],
    'inside.example': ['10.0.0.7'],
    'mixed.example': ['93.184.215.14', '192.168.0.9'],
    'mapped.example': ['::ffff:127.0.0.1'],
    'empty.example': [],
  });
  const resolve = (url: string, rules = ON) =>
    resolveWebhookTarget(parseWebhookUrl(url, rules), rules, lookup);

  it('answers every checked address of a public name', async () => {
    expect((await resolve('https://public.example/')).map((a) => a.address)).toEqual([
      '93.184.215.14',
      '2606:4700::1111',
    ]);
  });

  it.each([
    ['https://inside.example/', 'address'],
    ['https://mixed.example/', 'address'],
    ['https://mapped.example/', 'address'],
    ['https://empty.example/', 'unresolvable'],
    ['https://unknown.example/', 'unresolvable'],
  ])('refuses %s (%s)', async (url, problem) => {
    await expect(resolve(url)).rejects.toMatchObject({ problem });
  });

  it('lets private answers through when allowed, and takes literals without a lookup', async () => {
    expect((await resolve('http://inside.example/', OFF)).map((a) => a.address)).toEqual([
      '10.0.0.7',
    ]);
    const never: LookupAll = () => Promise.reject(new Error('no lookup expected'));
    const url = parseWebhookUrl('https://[2606:4700::1111]/', ON);
    expect(await resolveWebhookTarget(url, ON, never)).toEqual([
      { address: '2606:4700::1111', family: 6 },
    ]);
    const v4 = parseWebhookUrl('https://93.184.215.14/', ON);
    expect(await resolveWebhookTarget(v4, ON, never)).toEqual([
      { address: '93.184.215.14', family: 4 },
    ]);
  });
});

describe('event types', () => {
  it('are the audit types plus challenge outcomes, and nothing else', () => {
    expect(isWebhookEventType('challenge_approved')).toBe(true);
    expect(isWebhookEventType('user_created')).toBe(true);
    expect(isWebhookEventType('webhook_test')).toBe(false);
    expect(isWebhookEventType('nope')).toBe(false);
    expect(new Set(WEBHOOK_EVENT_TYPES).size).toBe(WEBHOOK_EVENT_TYPES.length);
  });
});
