import { beforeAll, describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });
let org: { id: string; apiKey: string };
let otherOrg: { id: string; apiKey: string };

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  otherOrg = await h.createOrganization({ name: 'Other Clinic', country: 'FI' });
});

const APP_KEYS = ['clientId', 'createdAt', 'id', 'name', 'redirectUris'];

function createApp(body: unknown, key = org.apiKey) {
  return h.request('POST', '/v1/apps', { key, body });
}

async function auditTypes(orgId: string): Promise<{ type: string; data: any }[]> {
  return h.sql<{ type: string; data: any }[]>`
    select type, data from audit_events where organization_id = ${orgId} order by id`;
}

describe('registering apps', () => {
  it('answers the secret once, stores only its hash and audits app_created', async () => {
    const res = await createApp({
      name: 'Clinic web',
      redirectUris: ['https://clinic.example/callback', 'http://localhost:3000/cb'],
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual([...APP_KEYS, 'clientSecret'].sort());
    expect(res.body.clientSecret).toMatch(/^tfa_cs_[A-Za-z0-9_-]{43}$/);
    expect(res.body.redirectUris).toEqual([
      'https://clinic.example/callback',
      'http://localhost:3000/cb',
    ]);
    const [row] = await h.sql`select * from apps where id = ${res.body.id}`;
    expect(JSON.stringify(row)).not.toContain(res.body.clientSecret);
    expect(row?.client_secret_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const list = await h.request('GET', '/v1/apps', { key: org.apiKey });
    expect(list.status).toBe(200);
    const listed = list.body.apps.find((a: { id: string }) => a.id === res.body.id);
    expect(Object.keys(listed).sort()).toEqual(APP_KEYS);
    expect(JSON.stringify(list.body)).not.toContain(res.body.clientSecret);

    const created = (await auditTypes(org.id)).find(
      (e) => e.type === 'app_created' && e.data.appId === res.body.id,
    );
    expect(created?.data).toMatchObject({ clientId: res.body.clientId, name: 'Clinic web' });
    expect(JSON.stringify(await auditTypes(org.id))).not.toContain(res.body.clientSecret);
  });

  it.each([
    'http://clinic.example/cb',
    'https://clinic.example/cb#frag',
    'https://clinic.example/cb#',
    '/relative/cb',
    'clinic.example/cb',
    'ftp://clinic.example/cb',
    'http://localhost.evil.example/cb',
    'http://127.0.0.2/cb',
    'https://user:pw@clinic.example/cb',
    'javascript:alert(1)',
  ])(
    'refuses redirect URI %s with 422 invalid_redirect_uri naming it, nothing stored',
    async (uri) => {
      const before = await h.sql`select count(*)::int as n from apps`;
      const res = await createApp({ name: 'Bad', redirectUris: ['https://ok.example/cb', uri] });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('invalid_redirect_uri');
      expect(res.body.detail).toContain(JSON.stringify(uri));
      const after = await h.sql`select count(*)::int as n from apps`;
      expect(after[0]?.n).toBe(before[0]?.n);
    },
  );

  it.each(['http://127.0.0.1:8080/cb', 'http://[::1]/cb', 'https://clinic.example:8443/a/b?x=1'])(
    'accepts %s',
    async (uri) => {
      const res = await createApp({ name: 'Ok', redirectUris: [uri] });
      expect(res.status).toBe(201);
      expect(res.body.redirectUris).toEqual([uri]);
    },
  );

  it('refuses no redirect URI or more than ten as a bad request', async () => {
    expect((await createApp({ name: 'None', redirectUris: [] })).status).toBe(400);
    const eleven = Array.from({ length: 11 }, (_, i) => `https://c.example/${i}`);
    expect((await createApp({ name: 'Many', redirectUris: eleven })).status).toBe(400);
    expect((await createApp({ name: '', redirectUris: ['https://c.example/'] })).status).toBe(400);
  });

  it('needs an organization key', async () => {
    const res = await h.request('POST', '/v1/apps', {
      key: null,
      body: { name: 'X', redirectUris: ['https://c.example/'] },
    });
    expect(res.status).toBe(401);
  });
});

describe('rotating and deleting', () => {
  it('rotates the secret (audited), and another organization sees a 404', async () => {
    const app = await createApp({ name: 'Rotating', redirectUris: ['https://r.example/cb'] });
    const [before] = await h.sql`select client_secret_hash from apps where id = ${app.body.id}`;

    const foreign = await h.request('POST', `/v1/apps/${app.body.id}/secret`, {
      key: otherOrg.apiKey,
    });
    expect(foreign.status).toBe(404);
    const [unchanged] = await h.sql`select client_secret_hash from apps where id = ${app.body.id}`;
    expect(unchanged?.client_secret_hash).toBe(before?.client_secret_hash);

    const rotated = await h.request('POST', `/v1/apps/${app.body.id}/secret`, { key: org.apiKey });
    expect(rotated.status).toBe(201);
    expect(Object.keys(rotated.body)).toEqual(['clientSecret']);
    expect(rotated.body.clientSecret).not.toBe(app.body.clientSecret);
    const [after] = await h.sql`select client_secret_hash from apps where id = ${app.body.id}`;
    expect(after?.client_secret_hash).not.toBe(before?.client_secret_hash);
    const events = await auditTypes(org.id);
    expect(
      events.filter((e) => e.type === 'app_secret_rotated' && e.data.appId === app.body.id),
    ).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(rotated.body.clientSecret);
  });

  it('deletes only its own organization app, audited, and the app leaves the list', async () => {
    const app = await createApp({ name: 'Deleting', redirectUris: ['https://d.example/cb'] });
    const foreign = await h.request('DELETE', `/v1/apps/${app.body.id}`, { key: otherOrg.apiKey });
    expect(foreign.status).toBe(404);
    expect((await h.request('GET', '/v1/apps', { key: otherOrg.apiKey })).body.apps).toEqual([]);

    const deleted = await h.request('DELETE', `/v1/apps/${app.body.id}`, { key: org.apiKey });
    expect(deleted.status).toBe(204);
    const list = await h.request('GET', '/v1/apps', { key: org.apiKey });
    expect(list.body.apps.map((a: { id: string }) => a.id)).not.toContain(app.body.id);
    const again = await h.request('DELETE', `/v1/apps/${app.body.id}`, { key: org.apiKey });
    expect(again.status).toBe(404);
    const rotate = await h.request('POST', `/v1/apps/${app.body.id}/secret`, { key: org.apiKey });
    expect(rotate.status).toBe(404);
    const events = (await auditTypes(org.id)).filter(
      (e) => e.type === 'app_deleted' && e.data.appId === app.body.id,
    );
    expect(events).toHaveLength(1);
    expect((await h.request('DELETE', '/v1/apps/not-a-uuid', { key: org.apiKey })).status).toBe(
      404,
    );
  });
});
