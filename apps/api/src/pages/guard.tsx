import { langOf } from './lang.ts';
import { MessagePage } from './layout.tsx';
import { setPageOrganization } from './page-organization.ts';
import { render } from './render.ts';
import { currentSession, type PageContext, type PageSession } from './session.ts';

/** The session of a logged-in browser, or the redirect to the login page. */
export async function requireSession(c: PageContext): Promise<PageSession | Response> {
  const session = await currentSession(c);
  if (!session) return c.redirect('/login', 303);
  // The page's header names the organization; an admin's shows its balance state.
  const org = await c.get('services').organizations.get(session.organizationId);
  if (org) setPageOrganization(c, { row: org.row, admin: session.role === 'admin' });
  return session;
}

/** An organization admin's session: a logged-out browser goes to `/login`, a member gets 403. */
export async function requireAdmin(c: PageContext): Promise<PageSession | Response> {
  const session = await requireSession(c);
  if (session instanceof Response) return session;
  if (session.role !== 'admin') {
    const lang = langOf(c, await c.get('services').organizations.get(session.organizationId));
    return render(
      c,
      <MessagePage
        lang={lang}
        title={lang.t.forbiddenTitle}
        message={lang.t.forbiddenSettings}
        user={session}
      />,
      403,
    );
  }
  return session;
}
