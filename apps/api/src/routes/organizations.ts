import { createRoute, z } from '@hono/zod-openapi';
import { issueApiKey } from '@twofa/core';
import {
  addCredits,
  createOrganization,
  getOrganization,
  recordAudit,
  updateOrganization,
} from '@twofa/db';
import { clientAddress } from '../lib/client-address.ts';
import { notFound } from '../lib/errors.ts';
import { parseId } from '../lib/http.ts';
import {
  bearerSecurity,
  createRouter,
  errors,
  IdParam,
  jsonBody,
  jsonResponse,
} from '../lib/openapi.ts';
import { AuthMethod, CountryCode, Organization } from '../lib/schemas.ts';
import { organizationJson } from '../lib/serializers.ts';
import { platformAuth } from '../middleware/auth.ts';

const tags = ['Platform'];
// Postgres text cannot hold NUL: refused here as bad input rather than failing in the database.
const noNul = (v: string) => !v.includes('\u0000');
const NO_NUL = 'must not contain NUL characters';
const Name = z.string().trim().min(1).max(200).refine(noNul, NO_NUL);
const OrgParams = IdParam('orgId');

const createOrg = createRoute({
  method: 'post',
  path: '/v1/organizations',
  tags,
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z.object({
        name: Name,
        authMethod: AuthMethod.default('password'),
        country: CountryCode.nullish(),
      }),
    ),
  },
  responses: {
    201: jsonResponse(
      Organization.extend({ apiKey: z.string() }),
      'Created; the key is shown once',
    ),
    ...errors(400, 401, 403),
  },
});

const getOrg = createRoute({
  method: 'get',
  path: '/v1/organizations/{orgId}',
  tags,
  security: bearerSecurity,
  request: { params: OrgParams },
  responses: { 200: jsonResponse(Organization, 'The organization'), ...errors(401, 403, 404) },
});

const patchOrg = createRoute({
  method: 'patch',
  path: '/v1/organizations/{orgId}',
  tags,
  security: bearerSecurity,
  request: {
    params: OrgParams,
    body: jsonBody(
      z.object({
        name: Name.optional(),
        authMethod: AuthMethod.optional(),
      }),
    ),
  },
  responses: { 200: jsonResponse(Organization, 'Updated'), ...errors(400, 401, 403, 404) },
});

const topUp = createRoute({
  method: 'post',
  path: '/v1/organizations/{orgId}/sms-credits',
  tags,
  security: bearerSecurity,
  request: {
    params: OrgParams,
    body: jsonBody(
      z.object({
        amount: z.number().int().positive().max(10_000_000),
        reference: z.string().max(200).refine(noNul, NO_NUL).nullish(),
      }),
    ),
  },
  responses: {
    201: jsonResponse(z.object({ balance: z.number().int() }), 'Credits added'),
    ...errors(400, 401, 403, 404),
  },
});

export const organizationsRouter = createRouter();
organizationsRouter.use('/v1/organizations', platformAuth);
organizationsRouter.use('/v1/organizations/*', platformAuth);

organizationsRouter.openapi(createOrg, async (c) => {
  const body = c.req.valid('json');
  const { db, config } = c.get('services');
  const { apiKey, apiKeyHash } = issueApiKey(config.appSecret);
  const org = await createOrganization(db.sql, {
    name: body.name,
    authMethod: body.authMethod,
    country: body.country ?? null,
    apiKeyHash,
  });
  c.get('logger').info({ organizationId: org.id }, 'organization created');
  return c.json({ ...organizationJson(org), apiKey }, 201);
});

organizationsRouter.openapi(getOrg, async (c) => {
  const id = parseId(c.req.valid('param').orgId, 'Organization');
  const org = await getOrganization(c.get('services').db.sql, id);
  if (!org) throw notFound('Organization');
  return c.json(organizationJson(org), 200);
});

organizationsRouter.openapi(patchOrg, async (c) => {
  const id = parseId(c.req.valid('param').orgId, 'Organization');
  const body = c.req.valid('json');
  const services = c.get('services');
  const before = await getOrganization(services.db.sql, id);
  if (!before) throw notFound('Organization');
  const org = await updateOrganization(services.db.sql, id, body);
  if (!org) throw notFound('Organization');
  services.organizations.put(org);
  if (before.authMethod !== org.authMethod || before.name !== org.name) {
    await recordAudit(services.db.sql, {
      organizationId: id,
      type: 'organization_updated',
      actor: 'platform',
      ip: clientAddress(c),
      data: { authMethod: { from: before.authMethod, to: org.authMethod }, name: org.name },
    });
  }
  return c.json(organizationJson(org), 200);
});

organizationsRouter.openapi(topUp, async (c) => {
  const id = parseId(c.req.valid('param').orgId, 'Organization');
  const body = c.req.valid('json');
  const { db } = c.get('services');
  const balance = await addCredits(db.sql, {
    organizationId: id,
    amount: body.amount,
    reference: body.reference ?? null,
    actor: 'platform',
    ip: clientAddress(c),
  });
  if (balance === null) throw notFound('Organization');
  return c.json({ balance }, 201);
});
