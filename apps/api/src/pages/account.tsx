import { Hono } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { requireSession } from './guard.tsx';
import { Csrf, Layout } from './layout.tsx';
import { render } from './render.ts';
import { csrfToken } from './session.ts';

export const accountPages = new Hono<AppEnv>();

accountPages.get('/account', async (c) => {
  const session = await requireSession(c);
  if (session instanceof Response) return session;
  const org = await c.get('services').organizations.get(session.organizationId);
  return render(
    c,
    <Layout title="Your account" user={session}>
      <div class="card">
        <h1>You are signed in</h1>
        <p>
          Signed in as <strong data-testid="email">{session.email}</strong>
          {org ? ` at ${org.row.name}` : ''}.
        </p>
        {session.role === 'admin' ? (
          <p>
            You administer this organization: see its{' '}
            <a href="/settings/password">password settings</a>.
          </p>
        ) : null}
        <form method="post" action="/logout">
          <Csrf token={csrfToken(c, session.token)} />
          <button class="secondary" type="submit">
            Log out
          </button>
        </form>
      </div>
    </Layout>,
  );
});
