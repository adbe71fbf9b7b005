import { z } from '@hono/zod-openapi';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '@twofa/core';
import { type DeliveryRow, listDeliveries, listWebhooks, type WebhookRow } from '@twofa/db';
import { Hono } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { ApiError } from '../lib/errors.ts';
import { clientAddress } from '../lib/http.ts';
import { Uuid } from '../lib/schemas.ts';
import { addWebhook, removeWebhook, sendTestEvent, updateWebhook } from '../webhooks/use-cases.ts';
import { adminOnly, adminPost, csrf, documentPage, form, html } from './docs.ts';
import { requireAdmin } from './guard.tsx';
import { langOf } from './lang.ts';
import { Csrf, DataTable, fieldAria, Layout, Notice } from './layout.tsx';
import { forbidden } from './login.tsx';
import type { PageLang } from './messages.ts';
import { render } from './render.ts';
import { csrfToken, csrfValid, type PageContext, type PageSession } from './session.ts';

/** `/settings/webhooks`: an organization's webhooks, for its admins. */
export const webhookPages = new Hono<AppEnv>();

const PATH = '/settings/webhooks';
const RECENT_DELIVERIES = 10;
const NOTICES = ['deleted', 'test', 'enabled', 'disabled', 'refused', 'missing'] as const;
type NoticeName = (typeof NOTICES)[number];

const actorOf = (session: PageSession) => `admin:${session.userId}`;

async function langFor(c: PageContext, session: PageSession): Promise<PageLang> {
  const org = await c.get('services').organizations.get(session.organizationId);
  if (!org) throw new ApiError('not_found', 'Organization not found');
  return langOf(c, org);
}

interface AddForm {
  url: string;
  events: string[];
  error?: string | undefined;
}

function eventName(lang: PageLang, type: string): string {
  return lang.t.auditEvents[type] ?? lang.t.webhookEventNames[type] ?? type.replaceAll('_', ' ');
}

function WebhookCard(props: {
  lang: PageLang;
  csrf: string;
  webhook: WebhookRow;
  deliveries: DeliveryRow[];
}) {
  const { lang, csrf, webhook, deliveries } = props;
  const { t } = lang;
  const headingId = `webhook-${webhook.id}`;
  const reason = webhook.disabledReason
    ? t.webhookDisabledReasons[webhook.disabledReason]
    : undefined;
  return (
    <section class="card" aria-labelledby={headingId}>
      <h2 id={headingId}>
        <code>{webhook.url}</code>
      </h2>
      <p>
        {webhook.events.length === 0
          ? t.webhookAllEvents
          : webhook.events.map((type) => eventName(lang, type)).join(', ')}
      </p>
      {webhook.disabledAt ? (
        <Notice kind="error">
          {t.webhookDisabled(lang.dateTime(webhook.disabledAt))} {reason ?? null}
        </Notice>
      ) : webhook.failingSince ? (
        <Notice kind="warn">{t.webhookFailingSince(lang.dateTime(webhook.failingSince))}</Notice>
      ) : (
        <p class="muted">{t.webhookActive}</p>
      )}
      <div class="actions">
        <form method="post" action={`${PATH}/${webhook.id}/test`}>
          <Csrf token={csrf} />
          <button type="submit" class="secondary" disabled={webhook.disabledAt !== null}>
            {t.webhookSendTest}
          </button>
        </form>
        <form
          method="post"
          action={`${PATH}/${webhook.id}/${webhook.disabledAt ? 'enable' : 'disable'}`}
        >
          <Csrf token={csrf} />
          <button type="submit" class="secondary">
            {webhook.disabledAt ? t.webhookEnable : t.webhookDisable}
          </button>
        </form>
        <form method="post" action={`${PATH}/${webhook.id}/delete`}>
          <Csrf token={csrf} />
          <button type="submit" class="secondary">
            {t.webhookDelete}
          </button>
        </form>
      </div>
      <h3>{t.webhookDeliveries}</h3>
      <DataTable
        label={`${t.webhookDeliveries}: ${webhook.url}`}
        columns={[t.colWhen, t.colEvent, t.colStatus, t.colAttempts, t.colResponse]}
        empty={deliveries.length === 0 && t.webhookNoDeliveries}
      >
        {deliveries.map((d) => (
          <tr>
            <td>
              <time datetime={d.createdAt.toISOString()}>{lang.dateTime(d.createdAt)}</time>
            </td>
            <td>{eventName(lang, d.type)}</td>
            <td>{t.deliveryStatuses[d.status]}</td>
            <td>{d.attempts}</td>
            <td>{d.lastStatusCode !== null ? `HTTP ${d.lastStatusCode}` : (d.lastError ?? '—')}</td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}

async function renderPage(
  c: PageContext,
  session: PageSession,
  options: {
    form?: AddForm;
    created?: { webhook: WebhookRow; secret: string };
    notice?: NoticeName | undefined;
    status?: 200 | 404 | 422;
  } = {},
) {
  const lang = await langFor(c, session);
  const { t } = lang;
  const sql = c.get('services').db.sql;
  const webhooks = await listWebhooks(sql, session.organizationId);
  const deliveries = await Promise.all(
    webhooks.map((w) =>
      listDeliveries(sql, session.organizationId, w.id, { limit: RECENT_DELIVERIES }),
    ),
  );
  const csrf = csrfToken(c, session.token);
  const form = options.form ?? { url: '', events: [] };
  const notices: Record<NoticeName, { kind: 'ok' | 'error'; text: string }> = {
    deleted: { kind: 'ok', text: t.webhookDeleted },
    test: { kind: 'ok', text: t.webhookTestQueued },
    enabled: { kind: 'ok', text: t.webhookEnabledNotice },
    disabled: { kind: 'ok', text: t.webhookDisabledNotice },
    refused: { kind: 'error', text: t.webhookEnableRefused },
    missing: { kind: 'error', text: t.webhookNotFound },
  };
  const notice = options.notice ? notices[options.notice] : undefined;
  return render(
    c,
    <Layout lang={lang} title={t.webhooksTitle} user={session} wide>
      <div class="card">
        <h1>{t.webhooksTitle}</h1>
        <p class="muted">{t.webhooksIntro}</p>
        {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
        {options.created ? (
          <Notice kind="ok">
            <p>{t.webhookCreated}</p>
            <p>
              <label for="webhook-secret">{t.webhookSecret}</label>
            </p>
            <input
              id="webhook-secret"
              type="text"
              readonly
              value={options.created.secret}
              aria-describedby="webhook-secret-help"
              autocomplete="off"
              spellcheck={false}
            />
            <p id="webhook-secret-help">{t.webhookSecretOnce}</p>
          </Notice>
        ) : null}
        {webhooks.length === 0 ? <p>{t.webhookNone}</p> : null}
      </div>
      {webhooks.map((webhook, i) => (
        <WebhookCard lang={lang} csrf={csrf} webhook={webhook} deliveries={deliveries[i] ?? []} />
      ))}
      <div class="card">
        <h2>{t.webhookAddHeading}</h2>
        <form method="post" action={PATH}>
          <Csrf token={csrf} />
          <div class="field">
            <label for="url">{t.webhookUrl}</label>
            <input
              id="url"
              name="url"
              type="url"
              required
              value={form.url}
              placeholder="https://"
              {...fieldAria(form.error, 'url-error', 'url-help')}
            />
            <p class="muted" id="url-help">
              {t.webhookUrlHelp}
            </p>
            {form.error ? (
              <Notice kind="error" id="url-error">
                {form.error}
              </Notice>
            ) : null}
          </div>
          <fieldset class="field">
            <legend>{t.webhookEvents}</legend>
            <p class="muted">{t.webhookEventsHelp}</p>
            {WEBHOOK_EVENT_TYPES.map((type) => (
              <label class="check" for={`event-${type}`}>
                <input
                  id={`event-${type}`}
                  type="checkbox"
                  name="events"
                  value={type}
                  checked={form.events.includes(type)}
                />
                <span>
                  {eventName(lang, type)} (<code>{type}</code>)
                </span>
              </label>
            ))}
          </fieldset>
          <button type="submit">{t.webhookAddButton}</button>
        </form>
      </div>
    </Layout>,
    options.status ?? 200,
  );
}

webhookPages.get(PATH, async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const asked = c.req.query('notice');
  const notice = NOTICES.find((n) => n === asked);
  return renderPage(c, session, { notice });
});

/** The form's fields; `events` repeats, one per checked box. */
async function formBody(
  c: PageContext,
): Promise<{ fields: Record<string, string>; events: string[] }> {
  const body = await c.req.parseBody({ all: true }).catch(() => ({}));
  const fields: Record<string, string> = {};
  let events: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    const values = (Array.isArray(value) ? value : [value]).filter(
      (v): v is string => typeof v === 'string',
    );
    if (key === 'events') events = values;
    else if (values[0] !== undefined) fields[key] = values[0];
  }
  return { fields, events };
}

webhookPages.post(PATH, async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const { fields, events } = await formBody(c);
  if (!csrfValid(c, session.token, fields.csrf)) return forbidden(c, await langFor(c, session));
  const url = (fields.url ?? '').trim();
  const form: AddForm = { url, events };
  // The JSON API's schema refuses an unknown type; so does the form.
  const known = events.filter((e): e is WebhookEventType =>
    (WEBHOOK_EVENT_TYPES as readonly string[]).includes(e),
  );
  const lang = await langFor(c, session);
  if (known.length !== events.length) {
    return renderPage(c, session, {
      form: { ...form, error: lang.t.webhookUrlProblems.malformed },
      status: 422,
    });
  }
  try {
    const created = await addWebhook(
      c.get('services'),
      session.organizationId,
      { url, events: known },
      { actor: actorOf(session), ip: clientAddress(c) },
    );
    return renderPage(c, session, { created });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'invalid_webhook_url') {
      const problem = error.extra.problem as keyof typeof lang.t.webhookUrlProblems;
      const text = lang.t.webhookUrlProblems[problem] ?? lang.t.webhookUrlProblems.malformed;
      return renderPage(c, session, { form: { ...form, error: text }, status: 422 });
    }
    throw error;
  }
});

/** The common part of a webhook's button: admin, CSRF, a webhook of this organization. */
async function webhookAction(
  c: PageContext,
  act: (session: PageSession, webhookId: string) => Promise<NoticeName>,
) {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const { fields } = await formBody(c);
  if (!csrfValid(c, session.token, fields.csrf)) return forbidden(c, await langFor(c, session));
  const id = Uuid.safeParse(c.req.param('webhookId') ?? '');
  let notice: NoticeName = 'missing';
  if (id.success) {
    try {
      notice = await act(session, id.data);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'not_found')) throw error;
    }
  }
  if (notice === 'missing') return renderPage(c, session, { notice, status: 404 });
  return c.redirect(`${PATH}?notice=${notice}`, 303);
}

webhookPages.post(`${PATH}/:webhookId/test`, (c) =>
  webhookAction(c, async (session, id) => {
    await sendTestEvent(c.get('services'), session.organizationId, id, {
      actor: actorOf(session),
      ip: clientAddress(c),
    });
    return 'test';
  }),
);

/** Turns a webhook on again (its target checked again, as when it was added) or off. */
for (const enabled of [true, false]) {
  webhookPages.post(`${PATH}/:webhookId/${enabled ? 'enable' : 'disable'}`, (c) =>
    webhookAction(c, async (session, id) => {
      try {
        await updateWebhook(
          c.get('services'),
          session.organizationId,
          id,
          { enabled },
          {
            actor: actorOf(session),
            ip: clientAddress(c),
          },
        );
      } catch (error) {
        if (error instanceof ApiError && error.code === 'invalid_webhook_url') return 'refused';
        throw error;
      }
      return enabled ? 'enabled' : 'disabled';
    }),
  );
}

webhookPages.post(`${PATH}/:webhookId/delete`, (c) =>
  webhookAction(c, async (session, id) => {
    await removeWebhook(c.get('services'), session.organizationId, id, {
      actor: actorOf(session),
      ip: clientAddress(c),
    });
    return 'deleted';
  }),
);

documentPage(
  'get',
  '/settings/webhooks',
  'webhooksPage',
  'Admin: webhooks, their deliveries',
  adminOnly,
);
documentPage(
  'post',
  '/settings/webhooks',
  'webhookAdd',
  'Admin: add a webhook; the page shows its signing secret once',
  {
    200: html('Added: the page with the secret'),
    403: adminPost[403],
    422: html('A refused URL'),
  },
  form({ url: 'https URL', events: 'an event type, once per checked box', csrf }),
);
documentPage(
  'post',
  '/settings/webhooks/{webhookId}/test',
  'webhookTest',
  'Admin: send a webhook_test event to this webhook',
  { ...adminPost, 404: html('No such webhook') },
  {
    ...form({ csrf }),
    params: z.object({
      webhookId: z.string().openapi({ param: { name: 'webhookId', in: 'path' } }),
    }),
  },
);
for (const [action, summary] of [
  ['enable', 'Admin: turn a disabled webhook on again (its URL checked again)'],
  ['disable', 'Admin: turn a webhook off'],
] as const) {
  documentPage(
    'post',
    `/settings/webhooks/{webhookId}/${action}`,
    `webhook${action === 'enable' ? 'Enable' : 'Disable'}`,
    summary,
    { ...adminPost, 404: html('No such webhook') },
    {
      ...form({ csrf }),
      params: z.object({
        webhookId: z.string().openapi({ param: { name: 'webhookId', in: 'path' } }),
      }),
    },
  );
}
documentPage(
  'post',
  '/settings/webhooks/{webhookId}/delete',
  'webhookDelete',
  'Admin: delete a webhook',
  { ...adminPost, 404: html('No such webhook') },
  {
    ...form({ csrf }),
    params: z.object({
      webhookId: z.string().openapi({ param: { name: 'webhookId', in: 'path' } }),
    }),
  },
);
