/**
 * `npm run start -w @twofa/example-clinic-app`: the clinic app on PORT (3001), its second
 * step from twofa at TWOFA_URL (http://localhost:3000). Credentials: CLIENT_ID and
 * CLIENT_SECRET of an app registered before, or TWOFA_API_KEY (an organization key) to
 * register itself at start.
 */
import { serve } from '@hono/node-server';
import { createClinicApp } from './app.ts';
import { registerClinic } from './register.ts';
import { Users } from './users.ts';

const env = process.env;
const port = Number(env.PORT ?? 3001);
const baseUrl = (env.CLINIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
const twofaUrl = (env.TWOFA_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
const failMode = env.TWOFA_FAIL_MODE ?? 'closed';
if (failMode !== 'closed' && failMode !== 'open') {
  throw new Error(`TWOFA_FAIL_MODE must be "closed" or "open", not ${JSON.stringify(failMode)}`);
}

let credentials: { clientId: string; clientSecret: string };
if (env.CLIENT_ID && env.CLIENT_SECRET) {
  credentials = { clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET };
} else if (env.TWOFA_API_KEY) {
  credentials = await registerClinic({
    twofaUrl,
    apiKey: env.TWOFA_API_KEY,
    name: env.CLINIC_APP_NAME ?? 'Clinic app (example)',
    redirectUri: `${baseUrl}/callback`,
  });
  console.info(`registered with twofa as client ${credentials.clientId}`);
} else {
  console.error('Set TWOFA_API_KEY (an organization key), or CLIENT_ID and CLIENT_SECRET.');
  process.exit(2);
}

// The clinic's own accounts: "email:password,email:password", or the demo's.
const accounts = (
  env.CLINIC_USERS ??
  'member@demo.example:clinic-password,nophone@demo.example:clinic-password,new.nurse@demo.example:clinic-password'
)
  .split(',')
  .map((entry) => {
    const at = entry.lastIndexOf(':');
    return { email: entry.slice(0, at), password: entry.slice(at + 1) };
  });

const app = createClinicApp({
  baseUrl,
  issuer: twofaUrl,
  ...credentials,
  failMode,
  users: await Users.create(accounts),
});
const server = serve({ fetch: app.fetch, port, hostname: env.HOST }, () => {
  console.info(`clinic app on ${baseUrl}/login (second step: ${twofaUrl}, fail ${failMode})`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
