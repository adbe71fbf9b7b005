/**
 * A Content-Security-Policy for the pages the service serves from packages (the API docs, the
 * queue dashboard): everything from this origin, no inline script and no eval; inline styles
 * are allowed, because both set `style` attributes from their components. `baseAndForms` lets
 * the page use `<base href>` and post forms to this origin (the dashboard does), else neither.
 */
export function selfOnlyCsp(options: { baseAndForms: boolean }): string {
  const own = options.baseAndForms ? "'self'" : "'none'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    `base-uri ${own}`,
    `form-action ${own}`,
    "frame-ancestors 'none'",
  ].join('; ');
}
