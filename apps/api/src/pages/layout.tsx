import type { Child } from 'hono/jsx';
import type { PageLang } from './messages.ts';
import { STYLESHEET_PATH } from './styles.ts';

export interface LayoutProps {
  lang: PageLang;
  title: string;
  children?: Child;
  /** Shown in the header with a settings menu for admins. */
  user?: { email: string; role: string } | null | undefined;
  wide?: boolean;
}

export function Layout({ lang, title, children, user, wide }: LayoutProps) {
  const { t } = lang;
  return (
    <html lang={lang.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · ${t.titleSuffix}`}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
      </head>
      <body>
        <header class="top">
          <a class="brand" href={user ? '/account' : '/login'}>
            {t.brand}
          </a>
          {user ? (
            <nav aria-label={t.mainNav}>
              <a href="/account">{t.navAccount}</a>
              {user.role === 'admin' ? (
                <>
                  <a href="/settings/password">{t.navPasswordSettings}</a>
                  <a href="/settings/users">{t.navUsers}</a>
                  <a href="/settings/subscription">{t.navSubscription}</a>
                  <a href="/settings/audit">{t.navAudit}</a>
                  <a href="/settings/webhooks">{t.navWebhooks}</a>
                  <a href="/settings/apps">{t.navApps}</a>
                </>
              ) : null}
            </nav>
          ) : null}
        </header>
        <main class={wide ? 'wide' : undefined}>{children}</main>
      </body>
    </html>
  );
}

/** The hidden CSRF field every state-changing form carries. */
export function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="csrf" value={token} />;
}

export function Notice({
  kind,
  id,
  children,
}: {
  kind: 'error' | 'ok' | 'warn';
  /** For a field's `aria-describedby`, when the notice is about that field. */
  id?: string | undefined;
  children?: Child;
}) {
  return (
    <div class={`notice ${kind}`} id={id} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** A whole page that only says something, e.g. a 403. */
export function MessagePage({
  lang,
  title,
  message,
  user,
}: {
  lang: PageLang;
  title: string;
  message: string;
  user?: LayoutProps['user'];
}) {
  return (
    <Layout lang={lang} title={title} user={user}>
      <div class="card">
        <h1>{title}</h1>
        <p>{message}</p>
      </div>
    </Layout>
  );
}

/**
 * The settings pages' one table: column headers, rows as children, and the
 * text to show when there are none. `label` names the table for assistive
 * technology (it is the visible heading above it, or a caption).
 */
export function DataTable({
  label,
  columns,
  empty,
  children,
}: {
  label: string;
  columns: readonly string[];
  empty?: string | false | undefined;
  children?: Child;
}) {
  return (
    <>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">{label}</caption>
          <thead>
            <tr>
              {columns.map((name) => (
                <th scope="col">{name}</th>
              ))}
            </tr>
          </thead>
          <tbody>{children}</tbody>
        </table>
      </div>
      {empty ? <p class="muted">{empty}</p> : null}
    </>
  );
}

/**
 * The ARIA of a form field: invalid while `error` holds, described by the error message (id
 * `errorId`) then, and by its help text (`helpId`) always.
 */
export function fieldAria(error: unknown, errorId: string, helpId?: string) {
  const ids = [error ? errorId : null, helpId ?? null].filter((id) => id !== null);
  return {
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': ids.length > 0 ? ids.join(' ') : undefined,
  };
}
