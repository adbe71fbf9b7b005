import type { Child } from 'hono/jsx';
import { STYLESHEET_PATH } from './styles.ts';

export interface LayoutProps {
  title: string;
  children?: Child;
  /** Shown in the header with a settings menu for admins. */
  user?: { email: string; role: string } | null | undefined;
  wide?: boolean;
}

export function Layout({ title, children, user, wide }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · twofa`}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
      </head>
      <body>
        <header class="top">
          <a class="brand" href={user ? '/account' : '/login'}>
            twofa
          </a>
          {user ? (
            <nav aria-label="Main">
              <a href="/account">Account</a>
              {user.role === 'admin' ? (
                <>
                  <a href="/settings/password">Password settings</a>
                  <a href="/settings/users">Users</a>
                  <a href="/settings/subscription">Subscription</a>
                  <a href="/settings/audit">Audit log</a>
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

export function Notice({ kind, children }: { kind: 'error' | 'ok' | 'warn'; children?: Child }) {
  return (
    <div class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** A whole page that only says something, e.g. a 403. */
export function MessagePage({
  title,
  message,
  user,
}: {
  title: string;
  message: string;
  user?: LayoutProps['user'];
}) {
  return (
    <Layout title={title} user={user}>
      <div class="card">
        <h1>{title}</h1>
        <p>{message}</p>
      </div>
    </Layout>
  );
}
