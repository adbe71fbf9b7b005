import type { Page } from 'playwright-core';
import type { Harness } from '../support/index.ts';

export interface PageResponse {
  status: number;
  headers: Headers;
  html: string;
  location: string | null;
  /** The raw Set-Cookie lines of this response. */
  setCookies: string[];
}

/** A browser over app.request(): keeps cookies, follows nothing by itself. */
export class Browser {
  readonly cookies = new Map<string, string>();

  /** `extraHeaders` go with every request, e.g. an `accept-language`. */
  constructor(
    private readonly h: Harness,
    private readonly extraHeaders: Record<string, string> = {},
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private async send(method: string, path: string, body?: URLSearchParams) {
    const headers: Record<string, string> = { ...this.extraHeaders };
    const cookie = this.cookieHeader();
    if (cookie) headers.cookie = cookie;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await this.h.app.request(path, { method, headers, body: body?.toString() });
    const setCookies = res.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const [name, ...rest] = (pair ?? '').split('=');
      const value = rest.join('=');
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (!name) continue;
      if (expired) this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
    return {
      status: res.status,
      headers: res.headers,
      html: await res.text(),
      location: res.headers.get('location'),
      setCookies,
    } satisfies PageResponse;
  }

  get(path: string): Promise<PageResponse> {
    return this.send('GET', path);
  }

  post(path: string, fields: Record<string, string>): Promise<PageResponse> {
    return this.send('POST', path, new URLSearchParams(fields));
  }

  /** GETs a page and posts its first form with `action` and the page's CSRF token. */
  async submit(
    pagePath: string,
    action: string,
    fields: Record<string, string>,
  ): Promise<PageResponse> {
    const page = await this.get(pagePath);
    return this.post(action, { csrf: csrfOf(page.html), ...fields });
  }
}

export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no CSRF field in page: ${html.slice(0, 300)}`);
  return match[1];
}

/** The `<input>` tag with this name, for asserting its attributes. */
export function inputTag(html: string, name: string): string {
  const match = new RegExp(`<(?:input|textarea)[^>]*name="${name}"[^>]*>`).exec(html);
  if (!match) throw new Error(`no input named ${name}`);
  return match[0];
}

export const PASSWORD = 'correct horse battery staple';

export interface PagesOrg {
  id: string;
  /** The short readable name of its login link: `/login?org=happy-paws`. */
  slug: string;
  apiKey: string;
  admin: { id: string; email: string };
  member: { id: string; email: string; phone: string };
  noPhone: { id: string; email: string };
}

/** An organization with 2FA on and credits, an admin and two members (one without a phone). */
export async function seedPagesOrg(h: Harness, name = 'Happy Paws'): Promise<PagesOrg> {
  const org = await h.createOrganization({ name, country: 'FI' });
  await h.enableTwoFactor(org.apiKey);
  await h.topUp(org.id, 100);
  const suffix = org.id.slice(0, 8);
  const adminEmail = `admin-${suffix}@example.com`;
  const memberEmail = `member-${suffix}@example.com`;
  const noPhoneEmail = `nophone-${suffix}@example.com`;
  const adminPhone = `+3584012${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;
  const memberPhone = `+3584013${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;
  const admin = await h.createUser(org.apiKey, {
    email: adminEmail,
    password: PASSWORD,
    phone: adminPhone,
    role: 'admin',
  });
  const member = await h.createUser(org.apiKey, {
    email: memberEmail,
    password: PASSWORD,
    phone: memberPhone,
  });
  const noPhone = await h.createUser(org.apiKey, { email: noPhoneEmail, password: PASSWORD });
  const [row] = await h.sql<
    { slug: string }[]
  >`select slug from organizations where id = ${org.id}`;
  return {
    ...org,
    slug: row!.slug,
    admin: { id: admin.id, email: adminEmail },
    member: { id: member.id, email: memberEmail, phone: memberPhone },
    noPhone: { id: noPhone.id, email: noPhoneEmail },
  };
}

/** Messages on the dev inbox page, newest first. */
export async function inboxMessages(
  h: Harness,
): Promise<{ id: string; to: string; body: string }[]> {
  const res = await h.app.request('/dev/sms');
  const html = await res.text();
  const messages: { id: string; to: string; body: string }[] = [];
  for (const m of html.matchAll(
    /<li class="sms" id="([^"]+)">[\s\S]*?To <strong>([^<]+)<\/strong>[\s\S]*?<pre data-testid="sms-body">([\s\S]*?)<\/pre>/g,
  )) {
    messages.push({ id: m[1] as string, to: m[2] as string, body: m[3] as string });
  }
  return messages;
}

/**
 * The code of the latest send of a user's newest challenge, read from the dev
 * inbox page: the message is matched by the provider id the send recorded.
 */
export async function waitForCode(h: Harness, userId: string): Promise<string> {
  return h.waitFor(async () => {
    const [send] = await h.sql<{ providerSid: string | null }[]>`
      select s.provider_sid as "providerSid" from challenges c
      join sms_sends s on s.id = c.current_send_id
      where c.user_id = ${userId} order by c.created_at desc limit 1`;
    if (!send?.providerSid) return null;
    const sms = (await inboxMessages(h)).find((m) => m.id === send.providerSid);
    return sms ? (/\b(\d{6})\b/.exec(sms.body)?.[1] ?? null) : null;
  });
}

/** Fills the login form of the organization in Chromium and submits it with PASSWORD. */
export async function signInInChromium(
  page: Page,
  base: string,
  organizationId: string,
  email: string,
): Promise<void> {
  await page.goto(`${base}/login?org=${organizationId}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The whole login in Chromium: password, then the SMS code the user was sent, to `/account`. */
export async function signInWithSmsCode(
  page: Page,
  base: string,
  h: Harness,
  organizationId: string,
  user: { id: string; email: string },
): Promise<void> {
  await signInInChromium(page, base, organizationId, user.email);
  await page.waitForURL(`${base}/login/code`);
  await page.getByLabel('6-digit code').fill(await waitForCode(h, user.id));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(`${base}/account`);
}
