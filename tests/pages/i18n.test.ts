import type { Locale } from '@twofa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createHarness, type Harness } from '../support/index.ts';
import { Browser, csrfOf, PASSWORD, type PagesOrg, seedPagesOrg, waitForCode } from './support.ts';

let h: Harness;

beforeAll(async () => {
  h = await createHarness({ env: { SMS_PROVIDER: 'console' } });
});
afterAll(async () => {
  await h?.close();
});

/** PATCH /v1/organizations/{id} with the platform key, then past the organization cache. */
async function setLocale(org: PagesOrg, locale: Locale) {
  const res = await h.request('PATCH', `/v1/organizations/${org.id}`, {
    key: ADMIN_KEY,
    body: { locale },
  });
  expect(res.status).toBe(200);
  h.clock.advance(3_000);
}

const langOf = (html: string) => /<html lang="([^"]+)"/.exec(html)?.[1];
const alertOf = (html: string) =>
  /<div class="notice error"[^>]*role="alert">([^<]*)<\/div>/.exec(html)?.[1];

/** What each locale's pages must say, written out here (not read from the catalog). */
const EXPECTED: Record<
  Locale,
  {
    signIn: string;
    wrongPassword: string;
    codeHeading: string;
    trust: string;
    wrongCode: string;
    expired: string;
    startAgain: string;
    wait: RegExp;
    waitBefore: RegExp;
    replaced: string;
    help: string;
    helpSections: string[];
    nav: string;
  }
> = {
  en: {
    signIn: 'Sign in to',
    wrongPassword: 'The email or password is wrong.',
    codeHeading: 'Enter your code',
    trust: 'Trust this device for 30 days',
    wrongCode: 'That code is wrong. 4 attempts left.',
    expired: 'The code has expired. Sign in again to get a new one.',
    startAgain: 'Start again',
    wait: /^Please wait \d+ seconds before asking for another code\.$/,
    waitBefore: /You can ask for another code in \d+ seconds\./,
    replaced:
      'That code was replaced by a newer one: enter the code from the latest message. 3 attempts left.',
    help: 'How do I log in with two-factor authentication?',
    helpSections: ['What is the code?', 'What if I do not have my phone with me?'],
    nav: 'Two-factor authentication',
  },
  fi: {
    signIn: 'Kirjaudu sisään:',
    wrongPassword: 'Sähköpostiosoite tai salasana on väärä.',
    codeHeading: 'Anna koodi',
    trust: 'Luota tähän laitteeseen 30 päivän ajan',
    wrongCode: 'Koodi on väärä. 4 yritystä jäljellä.',
    expired: 'Koodi on vanhentunut. Kirjaudu sisään uudelleen, niin saat uuden koodin.',
    startAgain: 'Aloita alusta',
    wait: /^Odota \d+ sekuntia ennen kuin pyydät uuden koodin\.$/,
    waitBefore: /Voit pyytää uuden koodin \d+ sekunnin kuluttua\./,
    replaced: 'Koodi on korvattu uudemmalla: anna uusimman viestin koodi. 3 yritystä jäljellä.',
    help: 'Miten kirjaudun kaksivaiheisella tunnistautumisella?',
    helpSections: ['Mikä koodi on?', 'Entä jos puhelin ei ole mukana?'],
    nav: 'Kaksivaiheinen tunnistautuminen',
  },
  sv: {
    signIn: 'Logga in på',
    wrongPassword: 'E-postadressen eller lösenordet är fel.',
    codeHeading: 'Ange din kod',
    trust: 'Lita på den här enheten i 30 dagar',
    wrongCode: 'Koden är fel. 4 försök kvar.',
    expired: 'Koden har gått ut. Logga in igen för att få en ny.',
    startAgain: 'Börja om',
    wait: /^Vänta \d+ sekunder innan du ber om en ny kod\.$/,
    waitBefore: /Du kan be om en ny kod om \d+ sekunder\./,
    replaced: 'Koden har ersatts av en nyare: ange koden i det senaste meddelandet. 3 försök kvar.',
    help: 'Hur loggar jag in med tvåstegsverifiering?',
    helpSections: ['Vad är koden?', 'Vad gör jag om jag inte har telefonen med mig?'],
    nav: 'Tvåstegsverifiering',
  },
};

describe.each(['en', 'fi', 'sv'] as const)('pages of an organization with locale %s', (locale) => {
  const say = EXPECTED[locale];
  let org: PagesOrg;
  beforeAll(async () => {
    org = await seedPagesOrg(h, `Tassut ${locale}`);
    if (locale !== 'en') await setLocale(org, locale);
  });

  it('shows the login, a wrong password, the code step, a wrong code and a resend too soon in that language', async () => {
    // The browser asks for another language: the organization's wins.
    const b = new Browser(h, { 'accept-language': locale === 'en' ? 'fi' : 'en' });
    const login = await b.get(`/login?org=${org.id}`);
    expect(langOf(login.html)).toBe(locale);
    expect(login.html).toContain(`<h1>${say.signIn} Tassut ${locale}</h1>`);

    const wrong = await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email: org.member.email,
      password: 'not the password',
    });
    expect(wrong.status).toBe(401);
    expect(langOf(wrong.html)).toBe(locale);
    expect(alertOf(wrong.html)).toBe(say.wrongPassword);

    const start = await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email: org.member.email,
      password: PASSWORD,
    });
    expect(start.location).toBe('/login/code');
    const code = await b.get('/login/code');
    expect(langOf(code.html)).toBe(locale);
    expect(code.html).toContain(`<h1>${say.codeHeading}</h1>`);
    expect(code.html).toContain(say.trust);
    // The wait before another code is on the page before any click.
    expect(code.html).toMatch(say.waitBefore);

    const bad = await b.post('/login/code', { csrf: csrfOf(code.html), code: '99999x' });
    expect(bad.status).toBe(422);
    expect(alertOf(bad.html)).toBe(say.wrongCode);

    const soon = await b.post('/login/resend', { csrf: csrfOf(bad.html) });
    expect(soon.status).toBe(303);
    const refused = await b.get(soon.location as string);
    expect(langOf(refused.html)).toBe(locale);
    expect(alertOf(refused.html)).toMatch(say.wait);

    // After a resend the first code was replaced, not wrong: the page says so.
    const first = await waitForCode(h, org.member.id);
    await h.travel(31_000);
    expect((await b.post('/login/resend', { csrf: csrfOf(refused.html) })).location).toBe(
      '/login/code?resent',
    );
    await h.waitFor(async () => ((await waitForCode(h, org.member.id)) !== first ? true : null));
    const replaced = await b.submit('/login/code', '/login/code', { code: first });
    expect(alertOf(replaced.html)).toBe(say.replaced);
  });

  it('answers the help page and names two-factor authentication in the navigation', async () => {
    const help = await new Browser(h, { 'accept-language': 'de' }).get(`/help?org=${org.slug}`);
    expect(langOf(help.html)).toBe(locale);
    expect(help.html).toContain(`<h1>${say.help}</h1>`);
    for (const heading of say.helpSections) expect(help.html).toContain(heading);
    const login = await new Browser(h).get(`/login?org=${org.slug}`);
    expect(login.html).toContain(`<a href="/help?org=${org.slug}">`);
    const b = new Browser(h);
    await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email: org.admin.email,
      password: PASSWORD,
    });
    await b.submit('/login/code', '/login/code', { code: await waitForCode(h, org.admin.id) });
    const settings = await b.get('/settings/password');
    expect(settings.html).toContain(`<h1>${say.nav}</h1>`);
    expect(settings.html).toContain(`<a href="/settings/password">${say.nav}</a>`);
  });

  it('says an expired code has expired, in that language', async () => {
    const b = new Browser(h);
    const start = await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email: org.admin.email,
      password: PASSWORD,
    });
    expect(start.location).toBe('/login/code');
    await h.travel(11 * 60_000);
    const page = await b.get('/login/code');
    expect(page.status).toBe(409);
    expect(langOf(page.html)).toBe(locale);
    expect(page.html).toContain(say.expired);
    expect(page.html).toContain(say.startAgain);
    // No English left in a Finnish or Swedish page.
    if (locale !== 'en') expect(page.html).not.toMatch(/expired|Sign in|Start again/);
  });
});

describe('the account and settings pages of a Swedish organization', () => {
  it('are in Swedish, with no English words left', async () => {
    const org = await seedPagesOrg(h, 'Tassar');
    await setLocale(org, 'sv');
    const b = new Browser(h, { 'accept-language': 'en' });
    await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email: org.admin.email,
      password: PASSWORD,
    });
    const code = await waitForCode(h, org.admin.id);
    const done = await b.submit('/login/code', '/login/code', { code });
    expect(done.location).toBe('/account');
    const headings: Record<string, string> = {
      '/account': 'Du är inloggad',
      '/settings/password': 'Tvåstegsverifiering',
      '/settings/users': 'Användare',
      '/settings/subscription': 'Abonnemang',
      '/settings/audit': 'Händelselogg',
      '/settings/apps': 'Appar',
    };
    for (const [path, heading] of Object.entries(headings)) {
      const page = await b.get(path);
      expect(page.status, path).toBe(200);
      expect(langOf(page.html), path).toBe('sv');
      expect(page.html, path).toContain(`<h1>${heading}</h1>`);
      const text = page.html.replace(/<pre>[\s\S]*?<\/pre>/g, '').replace(/<[^>]+>/g, ' ');
      expect(text, path).not.toMatch(
        /\b(the|Settings|Users|Balance|Audit|Log out|Required|Search|Credits|Event|Subscription)\b/,
      );
    }
  });
});

describe('an organization switching its locale', () => {
  it('changes the language of its pages', async () => {
    const org = await seedPagesOrg(h, 'Vaihtaja');
    const b = new Browser(h);
    const before = await b.get(`/login?org=${org.id}`);
    expect(langOf(before.html)).toBe('en');
    expect(before.html).toContain('<h1>Sign in to Vaihtaja</h1>');
    await setLocale(org, 'sv');
    const after = await b.get(`/login?org=${org.id}`);
    expect(langOf(after.html)).toBe('sv');
    expect(after.html).toContain('<h1>Logga in på Vaihtaja</h1>');
    await setLocale(org, 'fi');
    const again = await b.get(`/login?org=${org.id}`);
    expect(langOf(again.html)).toBe('fi');
    expect(again.html).toContain('<h1>Kirjaudu sisään: Vaihtaja</h1>');
  });
});

describe('the bare login form', () => {
  it.each([
    ['sv-SE,sv;q=0.9,en;q=0.5', 'sv', 'Logga in'],
    ['de-DE,de;q=0.9,fi;q=0.4', 'fi', 'Kirjaudu sisään'],
    ['en-GB,fi;q=0.8', 'en', 'Sign in'],
    ['de, fr;q=0.5', 'en', 'Sign in'],
    ['', 'en', 'Sign in'],
  ])('honours Accept-Language %j', async (header, lang, heading) => {
    const b = new Browser(h, header ? { 'accept-language': header } : {});
    const page = await b.get('/login');
    expect(langOf(page.html)).toBe(lang);
    expect(page.html).toContain(`<h1>${heading}</h1>`);
  });

  it('tells an unknown organization in the browser’s language', async () => {
    const b = new Browser(h, { 'accept-language': 'fi-FI' });
    const res = await b.submit('/login', '/login', {
      org: '00000000-0000-4000-8000-000000000000',
      email: 'someone@example.com',
      password: PASSWORD,
    });
    expect(res.status).toBe(404);
    expect(alertOf(res.html)).toBe(
      'Tällä tunnuksella ei löydy organisaatiota. Tarkista saamasi kirjautumislinkki.',
    );
    expect(res.html).toContain('aria-describedby="login-error org-help"');
  });
});
