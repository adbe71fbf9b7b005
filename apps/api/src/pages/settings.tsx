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
  userEmails,
} from '@twofa/db';
import { Hono } from 'hono';
import { resetUserSecondFactors } from '../domain/second-factors.ts';
import { changePasswordSettings, cidrEntryErrors } from '../domain/settings.ts';
import type { AppEnv } from '../lib/env.ts';
import { ApiError } from '../lib/errors.ts';
import { clientAddress } from '../lib/http.ts';
import { CountryCode, Uuid } from '../lib/schemas.ts';
import { auditActor, auditDetails, auditEventName, auditUserIds } from './audit-view.tsx';
import { balanceState } from './balance.tsx';
import { adminOnly, adminPost, csrf, documentPage, form, html, userIdParams } from './docs.ts';
import { MethodsFieldset, methodsFromForm } from './factors.tsx';
import { requireAdmin } from './guard.tsx';
import { apiErrorText, langOf } from './lang.ts';
import { Csrf, DataTable, Layout, Notice } from './layout.tsx';
import { forbidden } from './login.tsx';
import type { Messages, PageLang } from './messages.ts';
import { render } from './render.ts';
import { csrfToken, csrfValid, formFields, type PageContext, type PageSession } from './session.ts';

export const settingsPages = new Hono<AppEnv>();

const actorOf = (session: PageSession) => `admin:${session.userId}`;

// ---- password settings -----------------------------------------------------

interface PasswordForm {
  /** The allowed second factors, as checked. */
  methods: readonly string[];
  twoFactorEnabled: boolean;
  cidrsText: string;
  countriesText: string;
  cidrErrors: { line: number; entry: string }[];
  countryErrors: string[];
  error?: string | undefined;
  saved?: boolean;
  /** Turning 2FA on with no SMS credit was refused until confirmed. */
  confirmNoCredit?: boolean;
}

/** 2FA off and no credit: turning it on now would stop everyone at their next sign-in. */
const wouldLockOut = (org: OrganizationRow) => !org.twoFactorEnabled && org.smsBalance <= 0;

/** The warning beside the 2FA switch when turning it on would stop everyone, and its confirmation. */
function NoCreditWarning(props: { lang: PageLang; org: OrganizationRow; asked: boolean }) {
  const { t } = props.lang;
  if (!wouldLockOut(props.org)) return null;
  return (
    <div class="notice warn" id="no-credit-warning" data-testid="no-credit-warning">
      <p>
        {t.noCreditWarning} <a href="/settings/subscription">{t.balanceLink}</a>
      </p>
      <label class="check" for="confirmNoCredit">
        <input
          id="confirmNoCredit"
          name="confirmNoCredit"
          type="checkbox"
          value="on"
          aria-invalid={props.asked ? 'true' : undefined}
        />
        <span>{t.confirmNoCredit}</span>
      </label>
    </div>
  );
}

function PasswordSettingsPage(props: {
  lang: PageLang;
  csrf: string;
  session: PageSession;
  org: OrganizationRow;
  form: PasswordForm;
}) {
  const { lang, org, form, csrf, session } = props;
  const { t } = lang;
  const available = isTwoFactorAvailable(org.authMethod);
  const hasCidrErrors = form.cidrErrors.length > 0;
  return (
    <Layout lang={lang} title={t.passwordSettingsTitle} user={session} wide>
      <div class="card">
        <h1>{t.passwordSettingsTitle}</h1>
        {form.saved ? <Notice kind="ok">{t.settingsSaved}</Notice> : null}
        {form.error ? <Notice kind="error">{form.error}</Notice> : null}
        {form.confirmNoCredit ? <Notice kind="error">{t.confirmNoCreditNeeded}</Notice> : null}
        {hasCidrErrors || form.countryErrors.length > 0 ? (
          <Notice kind="error">{t.nothingSaved}</Notice>
        ) : null}
        <form method="post" action="/settings/password">
          <Csrf token={csrf} />
          <h2>{t.twoFactorHeading}</h2>
          <div class="field">
            <label class="check" for="twoFactorEnabled">
              <input
                id="twoFactorEnabled"
                name="twoFactorEnabled"
                type="checkbox"
                value="on"
                checked={available && form.twoFactorEnabled}
                disabled={!available}
                aria-describedby={`twoFactorEnabled-help${available ? ' twoFactorEnabled-credit' : ''}${available && wouldLockOut(org) ? ' no-credit-warning' : ''}`}
              />
              <span>{t.twoFactorCheckbox}</span>
            </label>
            <p id="twoFactorEnabled-help" class="muted">
              {available
                ? t.twoFactorHelp
                : t.twoFactorUnavailable(org.authMethod === 'saml2' ? 'saml2' : 'ldap')}
            </p>
            {available ? (
              <>
                <p id="twoFactorEnabled-credit" class="muted">
                  {t.twoFactorCreditHelp}
                </p>
                <NoCreditWarning lang={lang} org={org} asked={form.confirmNoCredit === true} />
              </>
            ) : null}
          </div>
          <h2>
            <label for="skipTwoFactorCidrs">{t.cidrsLabel}</label>
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
              {t.cidrsHelp}
            </p>
            <ul id="skipTwoFactorCidrs-errors" class="errors">
              {form.cidrErrors.map((e) => (
                <li>
                  {t.cidrLineError(e.line)} <code>{e.entry}</code> {t.notCidr}
                </li>
              ))}
            </ul>
          </div>
          <h2>
            <label for="smsAllowedCountries">{t.countriesLabel}</label>
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
              {t.countriesHelp}
            </p>
            <ul id="smsAllowedCountries-errors" class="errors">
              {form.countryErrors.map((entry) => (
                <li>
                  <code>{entry}</code> {t.notCountry}
                </li>
              ))}
            </ul>
          </div>
          <MethodsFieldset lang={lang} methods={form.methods} />
          <button type="submit">{t.saveSettings}</button>
        </form>
      </div>
    </Layout>
  );
}

function formFromOrg(org: OrganizationRow): PasswordForm {
  return {
    methods: org.secondFactorMethods,
    twoFactorEnabled: org.twoFactorEnabled,
    cidrsText: org.skipTwoFactorCidrs.join('\n'),
    countriesText: org.smsAllowedCountries.join(', '),
    cidrErrors: [],
    countryErrors: [],
  };
}

async function loadOrg(
  c: PageContext,
  session: PageSession,
): Promise<{ org: OrganizationRow; lang: PageLang }> {
  const org = await c.get('services').organizations.get(session.organizationId);
  if (!org) throw new ApiError('not_found', 'Organization not found');
  return { org: org.row, lang: langOf(c, org) };
}

settingsPages.get('/settings/password', async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const { org, lang } = await loadOrg(c, session);
  const form = { ...formFromOrg(org), saved: c.req.query('saved') !== undefined };
  return render(
    c,
    <PasswordSettingsPage
      lang={lang}
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
  const { org, lang } = await loadOrg(c, session);
  if (!csrfValid(c, session.token, fields.csrf)) return forbidden(c, lang);
  const cidrsText = (fields.skipTwoFactorCidrs ?? '').slice(0, 1_000_000);
  const countriesText = (fields.smsAllowedCountries ?? '').slice(0, 2_000);
  const lines = cidrsText
    .split(/\r?\n/)
    .map((line, index) => ({ line: index + 1, entry: line.trim() }))
    .filter((l) => l.entry !== '');
  const cidrErrors = cidrEntryErrors(lines.map((l) => l.entry)).map((e) => ({
    line: lines[e.index]?.line ?? e.index + 1,
    entry: e.entry,
  }));
  const countries = countriesText
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  // The API's own rule, so the page never saves a code the API would refuse (e.g. ZZ).
  const countryErrors = countries.filter((code) => !CountryCode.safeParse(code).success);
  const available = isTwoFactorAvailable(org.authMethod);
  // A disabled checkbox is not submitted: while 2FA is unavailable the page leaves it as it is.
  const twoFactorEnabled = available ? fields.twoFactorEnabled === 'on' : undefined;
  const methods = methodsFromForm(fields);
  const form: PasswordForm = {
    methods: methods ?? org.secondFactorMethods,
    twoFactorEnabled: twoFactorEnabled ?? org.twoFactorEnabled,
    cidrsText,
    countriesText,
    cidrErrors,
    countryErrors,
  };
  const csrf = csrfToken(c, session.token);
  const again = (extra: Partial<typeof form> & { error?: string | undefined }, status: 409 | 422) =>
    render(
      c,
      <PasswordSettingsPage
        lang={lang}
        csrf={csrf}
        session={session}
        org={org}
        form={{ ...form, ...extra }}
      />,
      status,
    );
  // Turning 2FA on with no credit stops everyone at once, this admin too: never by accident.
  const confirmNoCredit =
    twoFactorEnabled === true && wouldLockOut(org) && fields.confirmNoCredit !== 'on';
  if (confirmNoCredit) return again({ confirmNoCredit }, 409);
  const noMethods = methods !== undefined && methods.length === 0;
  if (cidrErrors.length > 0 || countryErrors.length > 0 || noMethods) {
    return again({ error: noMethods ? lang.t.errMethodsEmpty : undefined }, 422);
  }
  try {
    await changePasswordSettings(
      c.get('services'),
      org,
      {
        twoFactorEnabled,
        skipTwoFactorCidrs: lines.map((l) => l.entry),
        smsAllowedCountries: countries.map((code) => code.toUpperCase()),
        methods,
      },
      { actor: actorOf(session), ip: clientAddress(c) },
    );
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return render(
      c,
      <PasswordSettingsPage
        lang={lang}
        csrf={csrf}
        session={session}
        org={org}
        form={{ ...form, error: apiErrorText(lang, error) }}
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

/** The notice a user action leaves in the redirect's query, and its text. */
const NOTICES = {
  exempted: 'noticeExempted',
  unexempted: 'noticeUnexempted',
  revoked: 'noticeRevoked',
  unlocked: 'noticeUnlocked',
  reset: 'noticeFactorsReset',
} as const satisfies Record<string, keyof Messages>;
type NoticeName = keyof typeof NOTICES;

function noticeText(lang: PageLang, name: string | undefined): string | undefined {
  return name !== undefined && Object.hasOwn(NOTICES, name)
    ? lang.t[NOTICES[name as NoticeName]]
    : undefined;
}

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
  const { lang } = await loadOrg(c, session);
  const { t } = lang;
  const notice = noticeText(lang, c.req.query('notice'));
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
    <Layout lang={lang} title={t.usersTitle} user={session} wide>
      <div class="card">
        <h1>{t.usersTitle}</h1>
        {notice ? <Notice kind="ok">{notice}</Notice> : null}
        <search>
          <form method="get" action="/settings/users" class="row search-row">
            <label for="q" class="sr-only">
              {t.searchByEmail}
            </label>
            <input id="q" name="q" type="search" value={q} placeholder={t.searchByEmail} />
            <button type="submit" class="secondary">
              {t.search}
            </button>
          </form>
        </search>
        <p class="muted">
          {t.userCount(total)}
          {q ? t.matching(q) : ''}.
        </p>
        <DataTable
          label={t.usersTitle}
          columns={[t.colEmail, t.colPhone, t.colRole, t.colTwoFactor, t.colActions]}
        >
          {users.map((user) => {
            const locked = user.lockedUntil !== null && user.lockedUntil > now;
            return (
              <tr>
                <td data-label={t.colEmail}>{user.email}</td>
                <td data-label={t.colPhone}>{user.phone ?? '—'}</td>
                <td data-label={t.colRole}>{t.roles[user.role]}</td>
                <td data-label={t.colTwoFactor}>
                  {user.twoFactorDisabled ? t.twoFactorDisabledForUser : t.twoFactorRequired}
                  {locked && user.lockedUntil ? (
                    <div class="field-error">{t.lockedUntil(lang.dateTime(user.lockedUntil))}</div>
                  ) : null}
                </td>
                <td class="actions" data-label={t.colActions}>
                  <div class="actions-list">
                    <form method="post" action={`/settings/users/${user.id}/two-factor`}>
                      <Hidden />
                      <input
                        type="hidden"
                        name="twoFactorDisabled"
                        value={user.twoFactorDisabled ? 'false' : 'true'}
                      />
                      <button type="submit" class="secondary small">
                        {user.twoFactorDisabled ? t.requireTwoFactor : t.disableTwoFactor}
                      </button>
                    </form>
                    <form method="post" action={`/settings/users/${user.id}/trusted-devices`}>
                      <Hidden />
                      <button type="submit" class="secondary small">
                        {t.revokeDevices}
                      </button>
                    </form>
                    <form method="post" action={`/settings/users/${user.id}/second-factors/reset`}>
                      <Hidden />
                      <button type="submit" class="secondary small">
                        {t.resetFactors}
                      </button>
                    </form>
                    {locked ? (
                      <form method="post" action={`/settings/users/${user.id}/unlock`}>
                        <Hidden />
                        <button type="submit" class="small">
                          {t.unlock}
                        </button>
                      </form>
                    ) : null}
                  </div>
                </td>
              </tr>
            );
          })}
        </DataTable>
        <nav class="pager" aria-label={t.pagerLabel}>
          {page > 1 ? <a href={usersUrl(q, page - 1)}>{t.previous}</a> : <span />}
          <span class="muted">{t.pageOf(page, pages)}</span>
          {page < pages ? <a href={usersUrl(q, page + 1)}>{t.next}</a> : <span />}
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
  ) => Promise<NoticeName | null>,
) {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const fields = await formFields(c);
  const { lang } = await loadOrg(c, session);
  if (!csrfValid(c, session.token, fields.csrf)) return forbidden(c, lang);
  const userId = c.req.param('userId') ?? '';
  const q = (fields.q ?? '').slice(0, 254);
  const page = pageNumber(fields.page);
  const id = Uuid.safeParse(userId);
  const notice = id.success ? await act(session, id.data, fields) : null;
  if (notice === null) {
    return render(
      c,
      <Layout lang={lang} title={lang.t.notFoundTitle} user={session}>
        <div class="card">
          <h1>{lang.t.userNotFound}</h1>
          <p>
            <a href={usersUrl(q, page)}>{lang.t.backToUsers}</a>
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

settingsPages.post('/settings/users/:userId/second-factors/reset', (c) =>
  userAction(c, async (session, userId) => {
    try {
      await resetUserSecondFactors(c.get('services'), session.organizationId, userId, {
        actor: actorOf(session),
        ip: clientAddress(c),
      });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'not_found') return null;
      throw error;
    }
    return 'reset';
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
  const state = balanceState({ smsBalance: org.smsBalance, lowBalanceThreshold: threshold });
  const { lang } = await loadOrg(c, session);
  const { t } = lang;
  return render(
    c,
    <Layout lang={lang} title={t.subscriptionTitle} user={session} wide hideBalance>
      <div class="card">
        <h1>{t.subscriptionTitle}</h1>
        <h2>{t.smsBalance}</h2>
        <p class="balance" data-testid="balance">
          {t.credits(org.smsBalance)}
        </p>
        <p class="muted">{t.oneCodeOneCredit}</p>
        {state === 'out' ? <Notice kind="error">{t.outOfCredits}</Notice> : null}
        {state === 'low' ? <Notice kind="warn">{t.lowBalance(threshold)}</Notice> : null}
        <h2>{t.recentActivity}</h2>
        <DataTable
          label={t.recentActivity}
          columns={[t.colWhen, t.colWhat, t.colChange, t.colBalanceAfter]}
          empty={ledger.length === 0 && t.nothingYet}
        >
          {ledger.map((line) => (
            <tr>
              <td data-label={t.colWhen}>
                <time datetime={line.createdAt.toISOString()}>{lang.dateTime(line.createdAt)}</time>
              </td>
              <td data-label={t.colWhat}>{t.ledgerReasons[line.reason]}</td>
              <td data-label={t.colChange}>
                {line.delta > 0 ? `+${line.delta}` : String(line.delta)}
              </td>
              <td data-label={t.colBalanceAfter}>{line.balanceAfter}</td>
            </tr>
          ))}
        </DataTable>
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
  const { lang } = await loadOrg(c, session);
  const { t } = lang;
  const emails = await userEmails(
    c.get('services').db.sql,
    session.organizationId,
    auditUserIds(pageEvents),
  );
  return render(
    c,
    <Layout lang={lang} title={t.auditTitle} user={session} wide>
      <div class="card">
        <h1>{t.auditTitle}</h1>
        <DataTable
          label={t.auditTitle}
          columns={[t.colWhen, t.colEvent, t.colBy, t.colIp, t.colDetails]}
          empty={pageEvents.length === 0 && t.noEvents}
        >
          {pageEvents.map((event) => (
            <tr>
              <td data-label={t.colWhen}>
                <time datetime={event.createdAt.toISOString()}>
                  {lang.dateTime(event.createdAt)}
                </time>
              </td>
              <td data-label={t.colEvent}>{auditEventName(lang, event.type)}</td>
              <td data-label={t.colBy}>{auditActor(lang, event, emails)}</td>
              <td data-label={t.colIp}>{event.ip ?? '—'}</td>
              <td data-label={t.colDetails}>
                {auditDetails(lang, event, emails).map((line) => (
                  <div>{line}</div>
                ))}
              </td>
            </tr>
          ))}
        </DataTable>
        <nav class="pager" aria-label={t.pagerLabel}>
          {before !== undefined ? <a href="/settings/audit">{t.newest}</a> : <span />}
          {more && last ? <a href={`/settings/audit?before=${last.id}`}>{t.older}</a> : <span />}
        </nav>
      </div>
    </Layout>,
  );
});

// ---- documented in /openapi.json -----------------------------------------

documentPage(
  'get',
  '/settings/password',
  'passwordSettingsPage',
  'Admin: 2FA on/off, skip networks, SMS countries',
  adminOnly,
);
documentPage(
  'post',
  '/settings/password',
  'passwordSettingsSubmit',
  'Admin: save the password settings',
  {
    ...adminPost,
    422: html('A bad CIDR or country entry, each flagged; nothing saved'),
  },
  form({
    twoFactorEnabled: '"on" when checked',
    skipTwoFactorCidrs: 'one CIDR block a line',
    smsAllowedCountries: 'ISO 3166 alpha-2 codes, comma separated',
    csrf,
  }),
);
documentPage(
  'get',
  '/settings/users',
  'usersPage',
  'Admin: users, with search (`q`) and paging (`page`)',
  adminOnly,
);
documentPage(
  'post',
  '/settings/users/{userId}/two-factor',
  'usersTwoFactorSubmit',
  "Admin: disable (or require again) a user's two-factor authentication",
  adminPost,
  {
    params: userIdParams,
    ...form({ twoFactorDisabled: '"true" or "false"', csrf }),
  },
);
documentPage(
  'post',
  '/settings/users/{userId}/trusted-devices',
  'usersRevokeDevicesSubmit',
  "Admin: revoke a user's trusted devices",
  adminPost,
  {
    params: userIdParams,
    ...form({ csrf }),
  },
);
documentPage(
  'post',
  '/settings/users/{userId}/unlock',
  'usersUnlockSubmit',
  'Admin: lift a lock after too many wrong codes',
  adminPost,
  {
    params: userIdParams,
    ...form({ csrf }),
  },
);
documentPage(
  'get',
  '/settings/subscription',
  'subscriptionPage',
  'Admin: SMS balance, recent ledger, low-balance warning',
  adminOnly,
);
documentPage(
  'get',
  '/settings/audit',
  'auditPage',
  'Admin: the audit log, newest first, paged by `before`',
  adminOnly,
);
