import { createRedisSmsInbox, resolveSmsProviderName } from '@twofa/sms';
import { Hono } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { problem } from '../lib/errors.ts';
import type { Services } from '../lib/services.ts';
import { documentPage, html } from './docs.ts';
import { Layout } from './layout.tsx';
import { pageLang } from './messages.ts';
import { render } from './render.ts';

/** The inbox exists only with the console provider, and never in production. */
export function devInboxEnabled(services: Services): boolean {
  const env = services.config.env;
  if (env.NODE_ENV === 'production') return false;
  const provider = resolveSmsProviderName({
    provider: env.SMS_PROVIDER,
    accountSid: env.TWILIO_ACCOUNT_SID,
    authToken: env.TWILIO_AUTH_TOKEN,
  });
  return provider === 'console';
}

export const devSmsPages = new Hono<AppEnv>();

devSmsPages.get('/dev/sms', async (c) => {
  const services = c.get('services');
  if (!devInboxEnabled(services)) {
    return problem(c, 'not_found', 'No route for GET /dev/sms.');
  }
  // The worker's console provider writes this list (see createRedisSmsInbox).
  const messages = await createRedisSmsInbox(services.redis, services.config.env.QUEUE_PREFIX).list(
    50,
  );
  return render(
    c,
    // A developer's tool, not a page for the organization's people: English only.
    <Layout lang={pageLang('en')} title="Dev SMS inbox" wide>
      <div class="card">
        <h1>Dev SMS inbox</h1>
        <p class="muted">
          Messages the <code>console</code> SMS provider “sent”, newest first. Development only:
          with Twilio configured, or in production, this page does not exist.
        </p>
        {messages.length === 0 ? <p>No messages yet. Sign in to get a code.</p> : null}
        <ol reversed>
          {messages.map((sms) => (
            <li class="sms" id={sms.providerMessageId}>
              <div class="muted">
                To <strong>{sms.to}</strong> at{' '}
                <time datetime={sms.sentAt.toISOString()}>
                  {sms.sentAt.toISOString().slice(0, 19).replace('T', ' ')} UTC
                </time>
              </div>
              <pre data-testid="sms-body">{sms.body}</pre>
            </li>
          ))}
        </ol>
      </div>
    </Layout>,
  );
});

// ---- documented in /openapi.json -----------------------------------------

documentPage(
  'get',
  '/dev/sms',
  'devSmsInbox',
  "Development: the console provider's messages, newest first",
  {
    200: html('The inbox'),
    404: { description: 'Not the console provider, or NODE_ENV=production' },
  },
);
