import { DEFAULT_LOW_BALANCE_THRESHOLD, isTwoFactorAvailable } from '@twofa/core';
import {
  getLedger,
  getOrganization,
  listAudit,
  listUsers,
  type OrganizationRow,
  recordAudit,
  revokeTrustedDevices,
  unlockUser,
  updateUser,
} from '@twofa/db';
import { Hono } from 'hono';
import { changePasswordSettings, cidrEntryErrors } from '../domain/settings.ts';
import type { AppEnv } from '../lib/env.ts';
import { ApiError } from '../lib/errors.ts';
import { clientAddress } from '../lib/http.ts';
import { requireAdmin } from './guard.tsx';
import { Csrf, Layout, Notice } from './layout.tsx';
import { forbidden } from './login.tsx';
import { render } from './render.ts';
import { csrfToken, csrfValid, formFields, type PageContext, type PageSession } from './session.ts';

export const settingsPages = new Hono<AppEnv>();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COUNTRY = /^[A-Za-z]{2}$/;

const actorOf = (session: PageSession) => `admin:${session.userId}`;

// ---- password settings -----------------------------------------------------

interface PasswordForm {
  twoFactorEnabled: boolean;
  cidrsText: string;
  countriesText: string;
  cidrErrors: { line: number; entry: string; message: string }[];
  countryErrors: string[];
  error?: string | undefined;
  saved?: boolean;
}

function PasswordSettingsPage(props: {
  csrf: string;
  session: PageSession;
  org: OrganizationRow;
  form: PasswordForm;
}) {
  const { org, form, csrf, session } = props;
  const available = isTwoFactorAvailable(org.authMethod);
  const hasCidrErrors = form.cidrErrors.length > 0;
  return (
    <Layout title="Password settings" user={session} wide>
      <div class="card">
        <h1>Password settings</h1>
        {form.saved ? <Notice kind="ok">Settings saved.</Notice> : null}
        {form.error ? <Notice kind="error">{form.error}</Notice> : null}
        {hasCidrErrors || form.countryErrors.length > 0 ? (
          <Notice kind="error">Nothing was saved: fix the entries marked below.</Notice>
        ) : null}
        <form method="post" action="/settings/password">
          <Csrf token={csrf} />
          <h2>Two-factor authentication</h2>
          <div class="field">
            <label class="check" for="twoFactorEnabled">
              <input
                id="twoFactorEnabled"
                name="twoFactorEnabled"
                type="checkbox"
                value="on"
                checked={available && form.twoFactorEnabled}
                disabled={!available}
                aria-describedby="twoFactorEnabled-help"
              />
              <span>Ask for a code by SMS after the password</span>
            </label>
            <p id="twoFactorEnabled-help" class="muted">
              {available
                ? 'Users sign in with their password and a 6-digit code sent to their phone. A device they trust skips the code for 30 days.'
                : `Unavailable: this organization signs in with ${org.authMethod === 'saml2' ? 'SAML 2.0 single sign-on' : 'LDAP'}, so passwords and their second step are handled by that identity provider.`}
            </p>
          </div>
          <h2>
            <label for="skipTwoFactorCidrs">Networks that skip the code</label>
          </h2>
          <div class="field">
            <textarea
              id="skipTwoFactorCidrs"
              name="skipTwoFactorCidrs"
              rows={6}
              spellcheck={false}
              aria-invalid={hasCidrErrors ? 'true' : undefined}
              aria-describedby="skipTwoFactorCidrs-help skipTwoFactorCidrs-errors"
            >
              {form.cidrsText}
            </textarea>
            <p id="skipTwoFactorCidrs-help" class="muted">
              One CIDR block a line, e.g. 192.168.10.0/24 or 2001:db8::/48. Sign-ins from these
              networks need no code.
            </p>
            <ul id="skipTwoFactorCidrs-errors" class="errors">
              {form.cidrErrors.map((e) => (
                <li>
                  Line {e.line}: <code>{e.entry}</code> is not a CIDR block (
                  {e.message.replace(/^".*" is not a CIDR block: /, '')})
                </li>
              ))}
            </ul>
          </div>
          <h2>
            <label for="smsAllowedCountries">Countries that codes may be sent to</label>
          </h2>
          <div class="field">
            <input
              id="smsAllowedCountries"
              name="smsAllowedCountries"
              type="text"
              value={form.countriesText}
              spellcheck={false}
              autocomplete="off"
              aria-invalid={form.countryErrors.length > 0 ? 'true' : undefined}
              aria-describedby="smsAllowedCountries-help smsAllowedCountries-errors"
            />
            <p id="smsAllowedCountries-help" class="muted">
              Two-letter country codes separated by commas, e.g. FI, SE. Empty: any country.
            </p>
            <ul id="smsAllowedCountries-errors" class="errors">
              {form.countryErrors.map((entry) => (
                <li>
                  <code>{entry}</code> is not a two-letter country code
                </li>
              ))}
            </ul>
          </div>
          <button type="submit">Save settings</button>
        </form>
      </div>
    </Layout>
  );
}

function formFromOrg(org: OrganizationRow): PasswordForm {
  return {
    twoFactorEnabled: org.twoFactorEnabled,
    cidrsText: org.skipTwoFactorCidrs.join('\n'),
    countriesText: org.smsAllowedCountries.join(', '),
    cidrErrors: [],
    countryErrors: [],
  };
}

async function loadOrg(c: PageContext, session: PageSession): Promise<OrganizationRow> {
  const org = await c.get('services').organizations.get(session.organizationId);
  if (!org) throw new ApiError('not_found', 'Organization not found');
  return org.row;
}

settingsPages.get('/settings/password', async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const org = await loadOrg(c, session);
  const form = { ...formFromOrg(org), saved: c.req.query('saved') !== undefined };
  return render(
    c,
    <PasswordSettingsPage
      csrf={csrfToken(c, session.token)}
      session={session}
      org={org}
      form={form}
    />,
  );
});

settingsPages.post('/settings/password', async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const fields = await formFields(c);
  if (!csrfValid(c, session.token, fields.csrf)) return forbidden(c);
  const org = await loadOrg(c, session);
  const cidrsText = (fields.skipTwoFactorCidrs ?? '').slice(0, 1_000_000);
  const countriesText = (fields.smsAllowedCountries ?? '').slice(0, 2_000);
  const lines = cidrsText
    .split(/\r?\n/)
    .map((line, index) => ({ line: index + 1, entry: line.trim() }))
    .filter((l) => l.entry !== '');
  const cidrErrors = cidrEntryErrors(lines.map((l) => l.entry)).map((e) => ({
    line: lines[e.index]?.line ?? e.index + 1,
    entry: e.entry,
    message: e.message,
  }));
  const countries = countriesText
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const countryErrors = countries.filter((code) => !COUNTRY.test(code));
  const available = isTwoFactorAvailable(org.authMethod);
  // A disabled checkbox is not submitted: while 2FA is unavailable the page leaves it as it is.
  const twoFactorEnabled = available ? fields.twoFactorEnabled === 'on' : undefined;
  const form: PasswordForm = {
    twoFactorEnabled: twoFactorEnabled ?? org.twoFactorEnabled,
    cidrsText,
    countriesText,
    cidrErrors,
    countryErrors,
  };
  const csrf = csrfToken(c, session.token);
  if (cidrErrors.length > 0 || countryErrors.length > 0) {
    return render(
      c,
      <PasswordSettingsPage csrf={csrf} session={session} org={org} form={form} />,
      422,
    );
  }
  try {
    await changePasswordSettings(
      c.get('services'),
      org,
      {
        twoFactorEnabled,
        skipTwoFactorCidrs: lines.map((l) => l.entry),
        smsAllowedCountries: countries.map((code) => code.toUpperCase()),
      },
      { actor: actorOf(session), ip: clientAddress(c) },
    );
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return render(
      c,
      <PasswordSettingsPage
        csrf={csrf}
        session={session}
        org={org}
        form={{ ...form, error: error.detail }}
      />,
      error.status as 422,
    );
  }
  return c.redirect('/settings/password?saved', 303);
});

// ---- users -----------------------------------------------------------------

const USERS_PAGE_SIZE = 20;

function pageNumber(value: string | undefined): number {
  const n = Number.parseInt(value ?? '1', 10);
  return Number.isFinite(n) && n >= 1 && n <= 100_000 ? n : 1;
}

function usersUrl(q: string, page: number, notice?: string): string {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (page > 1) params.set('page', String(page));
  if (notice) params.set('notice', notice);
  const query = params.toString();
  return `/settings/users${query ? `?${query}` : ''}`;
}

const NOTICES: Record<string, string> = {
  exempted: 'Two-factor authentication is now off for that user.',
  unexempted: 'Two-factor authentication applies to that user again.',
  revoked: "The user's trusted devices were revoked: their next sign-in asks for a code.",
  unlocked: 'The user was unlocked.',
};

settingsPages.get('/settings/users', async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const q = (c.req.query('q') ?? '').trim().slice(0, 254);
  const page = pageNumber(c.req.query('page'));
  const { users, total } = await listUsers(c.get('services').db.sql, session.organizationId, {
    search: q || undefined,
    limit: USERS_PAGE_SIZE,
    offset: (page - 1) * USERS_PAGE_SIZE,
  });
  const pages = Math.max(1, Math.ceil(total / USERS_PAGE_SIZE));
  const notice = NOTICES[c.req.query('notice') ?? ''];
  const csrf = csrfToken(c, session.token);
  const now = c.get('services').clock.now();
  const Hidden = () => (
    <>
      <Csrf token={csrf} />
      <input type="hidden" name="q" value={q} />
      <input type="hidden" name="page" value={String(page)} />
    </>
  );
  return render(
    c,
    <Layout title="Users" user={session} wide>
      <div class="card">
        <h1>Users</h1>
        {notice ? <Notice kind="ok">{notice}</Notice> : null}
        <form method="get" action="/settings/users" class="row">
          <label for="q" class="sr-only">
            Search by email
          </label>
          <input id="q" name="q" type="search" value={q} placeholder="Search by email" />
          <button type="submit" class="secondary">
            Search
          </button>
        </form>
        <p class="muted">
          {total} {total === 1 ? 'user' : 'users'}
          {q ? ` matching “${q}”` : ''}.
        </p>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Phone</th>
                <th scope="col">Role</th>
                <th scope="col">Two-factor</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.map((user) => {
                const locked = user.lockedUntil !== null && user.lockedUntil > now;
                return (
                  <tr>
                    <td>{user.email}</td>
                    <td>{user.phone ?? '—'}</td>
                    <td>{user.role}</td>
                    <td>
                      {user.twoFactorDisabled ? 'Disabled for this user' : 'Required'}
                      {locked ? (
                        <div class="field-error">
                          Locked until{' '}
                          {user.lockedUntil?.toISOString().slice(0, 16).replace('T', ' ')} UTC
                        </div>
                      ) : null}
                    </td>
                    <td class="actions">
                      <form method="post" action={`/settings/users/${user.id}/two-factor`}>
                        <Hidden />
                        <input
                          type="hidden"
                          name="twoFactorDisabled"
                          value={user.twoFactorDisabled ? 'false' : 'true'}
                        />
                        <button type="submit" class="secondary small">
                          {user.twoFactorDisabled
                            ? 'Require two-factor authentication'
                            : 'Disable two-factor authentication'}
                        </button>
                      </form>
                      <form method="post" action={`/settings/users/${user.id}/trusted-devices`}>
                        <Hidden />
                        <button type="submit" class="secondary small">
                          Revoke trusted devices
                        </button>
                      </form>
                      {locked ? (
                        <form method="post" action={`/settings/users/${user.id}/unlock`}>
                          <Hidden />
                          <button type="submit" class="small">
                            Unlock
                          </button>
                        </form>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <nav class="pager" aria-label="Pages">
          {page > 1 ? <a href={usersUrl(q, page - 1)}>← Previous</a> : <span />}
          <span class="muted">
            Page {page} of {pages}
          </span>
          {page < pages ? <a href={usersUrl(q, page + 1)}>Next →</a> : <span />}
        </nav>
      </div>
    </Layout>,
  );
});

/** The common part of a user action: admin, CSRF, a user id of this organization. */
async function userAction(
  c: PageContext,
  act: (
    session: PageSession,
    userId: string,
    fields: Record<string, string>,
  ) => Promise<string | null>,
) {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const fields = await formFields(c);
  if (!csrfValid(c, session.token, fields.csrf)) return forbidden(c);
  const userId = c.req.param('userId') ?? '';
  const q = (fields.q ?? '').slice(0, 254);
  const page = pageNumber(fields.page);
  const notice = UUID.test(userId) ? await act(session, userId.toLowerCase(), fields) : null;
  if (notice === null) {
    return render(
      c,
      <Layout title="Not found" user={session}>
        <div class="card">
          <h1>User not found</h1>
          <p>
            <a href={usersUrl(q, page)}>Back to the users</a>
          </p>
        </div>
      </Layout>,
      404,
    );
  }
  return c.redirect(usersUrl(q, page, notice), 303);
}

settingsPages.post('/settings/users/:userId/two-factor', (c) =>
  userAction(c, async (session, userId, fields) => {
    const services = c.get('services');
    const disabled = fields.twoFactorDisabled === 'true';
    const result = await updateUser(services.db.sql, session.organizationId, userId, {
      twoFactorDisabled: disabled,
    });
    if (!result) return null;
    if (result.previous.twoFactorDisabled !== result.user.twoFactorDisabled) {
      await recordAudit(services.db.sql, {
        organizationId: session.organizationId,
        type: disabled ? 'user_exempted' : 'user_unexempted',
        actor: actorOf(session),
        ip: clientAddress(c),
        data: { userId },
      });
    }
    return disabled ? 'exempted' : 'unexempted';
  }),
);

settingsPages.post('/settings/users/:userId/trusted-devices', (c) =>
  userAction(c, async (session, userId) => {
    const services = c.get('services');
    const revoked = await revokeTrustedDevices(services.db.sql, session.organizationId, userId);
    if (revoked === null) return null;
    await recordAudit(services.db.sql, {
      organizationId: session.organizationId,
      type: 'trusted_devices_revoked',
      actor: actorOf(session),
      ip: clientAddress(c),
      data: { userId, revoked },
    });
    return 'revoked';
  }),
);

settingsPages.post('/settings/users/:userId/unlock', (c) =>
  userAction(c, async (session, userId) => {
    const user = await unlockUser(c.get('services').db.sql, {
      organizationId: session.organizationId,
      userId,
      actor: actorOf(session),
      ip: clientAddress(c),
    });
    return user ? 'unlocked' : null;
  }),
);

// ---- subscription ----------------------------------------------------------

settingsPages.get('/settings/subscription', async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const sql = c.get('services').db.sql;
  const [org, ledger] = await Promise.all([
    getOrganization(sql, session.organizationId),
    getLedger(sql, session.organizationId, 20),
  ]);
  if (!org) throw new ApiError('not_found', 'Organization not found');
  const threshold = org.lowBalanceThreshold ?? DEFAULT_LOW_BALANCE_THRESHOLD;
  const low = org.smsBalance < threshold;
  const reasons: Record<string, string> = {
    top_up: 'Credits added',
    sms_sent: 'Code sent',
    refund: 'Refund (not sent)',
  };
  return render(
    c,
    <Layout title="Subscription" user={session} wide>
      <div class="card">
        <h1>Subscription</h1>
        <h2>SMS balance</h2>
        <p class="balance" data-testid="balance">
          {org.smsBalance} {org.smsBalance === 1 ? 'credit' : 'credits'}
        </p>
        <p class="muted">One code sent is one credit.</p>
        {low ? (
          <Notice kind="warn">
            The balance is low (below {threshold} credits). When it runs out, no codes are sent and
            users cannot finish signing in. Contact your provider to add credits.
          </Notice>
        ) : null}
        <h2>Recent activity</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">What</th>
                <th scope="col">Change</th>
                <th scope="col">Balance after</th>
              </tr>
            </thead>
            <tbody>
              {ledger.map((line) => (
                <tr>
                  <td>{line.createdAt.toISOString().slice(0, 19).replace('T', ' ')}</td>
                  <td>{reasons[line.reason] ?? line.reason}</td>
                  <td>{line.delta > 0 ? `+${line.delta}` : String(line.delta)}</td>
                  <td>{line.balanceAfter}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {ledger.length === 0 ? <p class="muted">Nothing yet.</p> : null}
      </div>
    </Layout>,
  );
});

// ---- audit log -------------------------------------------------------------

const AUDIT_PAGE_SIZE = 50;

settingsPages.get('/settings/audit', async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const beforeText = c.req.query('before');
  const before = beforeText && /^\d{1,18}$/.test(beforeText) ? Number(beforeText) : undefined;
  const events = await listAudit(c.get('services').db.sql, session.organizationId, {
    limit: AUDIT_PAGE_SIZE + 1,
    before,
  });
  const pageEvents = events.slice(0, AUDIT_PAGE_SIZE);
  const more = events.length > AUDIT_PAGE_SIZE;
  const last = pageEvents[pageEvents.length - 1];
  return render(
    c,
    <Layout title="Audit log" user={session} wide>
      <div class="card">
        <h1>Audit log</h1>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When (UTC)</th>
                <th scope="col">Event</th>
                <th scope="col">By</th>
                <th scope="col">IP</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {pageEvents.map((event) => (
                <tr>
                  <td>{event.createdAt.toISOString().slice(0, 19).replace('T', ' ')}</td>
                  <td>{event.type.replaceAll('_', ' ')}</td>
                  <td>{event.actor}</td>
                  <td>{event.ip ?? '—'}</td>
                  <td>
                    <pre>{JSON.stringify(event.data)}</pre>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {pageEvents.length === 0 ? <p class="muted">No events.</p> : null}
        <nav class="pager" aria-label="Pages">
          {before !== undefined ? <a href="/settings/audit">Newest</a> : <span />}
          {more && last ? <a href={`/settings/audit?before=${last.id}`}>Older →</a> : <span />}
        </nav>
      </div>
    </Layout>,
  );
});
