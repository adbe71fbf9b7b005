import type { Child } from 'hono/jsx';
import { BalanceBanner } from './balance.tsx';
import type { PageLang } from './messages.ts';
import { usePageOrganization } from './page-organization.ts';
import { STYLESHEET_PATH } from './styles.ts';

export interface LayoutProps {
  lang: PageLang;
  title: string;
  children?: Child;
  /** Shown in the header with a settings menu for admins. */
  user?: { email: string; role: string } | null | undefined;
  wide?: boolean;
  /** The page shows the balance itself (the subscription page): no banner above it. */
  hideBalance?: boolean;
  /** Scripts of this app (`/pages/...`) the page needs; the CSP allows no other. */
  scripts?: readonly string[];
}

/** "Happy Paws" → "HP": where the organization's logo goes, until it has one. */
function initials(name: string): string {
  const letters = name
    .split(/\s+/)
    .map((word) => [...word].find((char) => /\p{L}|\p{N}/u.test(char)) ?? '')
    .filter(Boolean);
  return letters.slice(0, 2).join('').toUpperCase();
}

/** The help page, in the organization's language when the page knows it. */
export function helpHref(slug?: string | null): string {
  return slug ? `/help?org=${encodeURIComponent(slug)}` : '/help';
}

export function Layout({ lang, title, children, user, wide, hideBalance, scripts }: LayoutProps) {
  const { t } = lang;
  const org = usePageOrganization();
  const brandHref = user ? '/account' : org ? `/login?org=${org.row.slug}` : '/login';
  return (
    <html lang={lang.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{`${title} · ${org ? org.row.name : t.titleSuffix}`}</title>
        <link rel="stylesheet" href={STYLESHEET_PATH} />
        {(scripts ?? []).map((src) => (
          <script src={src} defer />
        ))}
      </head>
      <body>
        <header class="top">
          <a class="brand" href={brandHref}>
            {org ? (
              <>
                {/* The organization's logo goes here; until it has one, its initials. */}
                <span class="logo" aria-hidden="true" data-testid="logo">
                  {initials(org.row.name)}
                </span>
                <span data-testid="brand-name">{org.row.name}</span>
              </>
            ) : (
              t.brand
            )}
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
        <main class={wide ? 'wide' : undefined}>
          {hideBalance ? null : <BalanceBanner lang={lang} />}
          {children}
        </main>
        <footer class="foot">
          <nav aria-label={t.footerLabel}>
            <a href={helpHref(org?.row.slug)}>{t.footerHelp}</a>
          </nav>
        </footer>
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
        {/* Rows become cards on a narrow screen: each cell's data-label names its column. */}
        <table class="cards">
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

/**
 * The 6-digit code field (id and name `code`): the numeric keyboard and the browser's
 * one-time-code autofill, with the ARIA from `fieldAria`.
 */
export function CodeInput({
  autofocus,
  ...aria
}: { autofocus?: boolean } & ReturnType<typeof fieldAria>) {
  return (
    <input
      id="code"
      class="code"
      name="code"
      type="text"
      inputmode="numeric"
      autocomplete="one-time-code"
      pattern="[0-9]{6}"
      maxlength={6}
      required
      autofocus={autofocus}
      {...aria}
    />
  );
}

/** A second submit button that leaves the sign-in: the hosted prompt's way back to its app. */
export function CancelButton({ lang }: { lang: PageLang }) {
  return (
    <button class="secondary" type="submit" name="cancel" value="1" formnovalidate>
      {lang.t.cancel}
    </button>
  );
}

/** The end of a code form: "trust this device", Verify, and the hosted prompt's Cancel. */
export function VerifyActions({
  lang,
  cancelable,
}: {
  lang: PageLang;
  cancelable?: boolean | undefined;
}) {
  return (
    <>
      <div class="field">
        <label class="check" for="trustDevice">
          <input id="trustDevice" name="trustDevice" type="checkbox" value="on" />
          <span>{lang.t.trustDevice}</span>
        </label>
      </div>
      <button class="primary" type="submit">
        {lang.t.verify}
      </button>
      {cancelable ? <CancelButton lang={lang} /> : null}
    </>
  );
}
