import { z } from '@hono/zod-openapi';
import { issueApiKey, MAX_SMS_BALANCE } from '@twofa/core';
import {
  addCredits,
  createOrganization,
  getOrganization,
  getOrganizationForUpdate,
  IdempotencyClaimLost,
  inTransaction,
  recordAudit,
  updateOrganization,
} from '@twofa/db';
import { balanceLimit, notFound } from '../lib/errors.ts';
import { clientAddress, parseId } from '../lib/http.ts';
import { IDEMPOTENCY_HEADER_DOC, IdempotencyHeaders, idempotent } from '../lib/idempotency.ts';
import {
  createRouter,
  errors,
  IdParam,
  jsonBody,
  jsonResponse,
  platformRoute,
} from '../lib/openapi.ts';
import {
  AuthMethod,
  CreateOrganizationBody,
  CreditTopUpBody,
  Locale,
  Organization,
  OrganizationName,
} from '../lib/schemas.ts';
import { organizationJson } from '../lib/serializers.ts';

const tags = ['Platform'];
const OrgParams = IdParam('orgId');

const createOrg = platformRoute({
  method: 'post',
  path: '/v1/organizations',
  tags,
  operationId: 'createOrganization',
  summary: 'Create an organization and its API key',
  description: 'The organization key is in the answer once and stored only as a hash.',
  request: {
    body: jsonBody(CreateOrganizationBody),
  },
  responses: {
    201: jsonResponse(
      Organization.extend({ apiKey: z.string() }),
      'Created; the key is shown once',
    ),
    ...errors(400),
  },
});

const getOrg = platformRoute({
  method: 'get',
  path: '/v1/organizations/{orgId}',
  tags,
  operationId: 'getOrganization',
  summary: 'Read an organization',
  request: { params: OrgParams },
  responses: { 200: jsonResponse(Organization, 'The organization'), ...errors(404) },
});

const patchOrg = platformRoute({
  method: 'patch',
  path: '/v1/organizations/{orgId}',
  tags,
  operationId: 'updateOrganization',
  summary: 'Rename an organization or change its sign-in method or locale',
  request: {
    params: OrgParams,
    body: jsonBody(
      z.object({
        name: OrganizationName.optional(),
        authMethod: AuthMethod.optional(),
        locale: Locale.optional(),
      }),
    ),
  },
  responses: { 200: jsonResponse(Organization, 'Updated'), ...errors(400, 404) },
});

const topUp = platformRoute({
  method: 'post',
  path: '/v1/organizations/{orgId}/sms-credits',
  tags,
  operationId: 'addSmsCredits',
  summary: "Add credits to an organization's prepaid SMS balance",
  description: `A top-up that would take the balance past ${MAX_SMS_BALANCE.toLocaleString('en')} is 422 balance_limit (with the current \`balance\`) and changes nothing. Idempotency-Key (kept per platform): ${IDEMPOTENCY_HEADER_DOC}`,
  request: {
    params: OrgParams,
    headers: IdempotencyHeaders,
    body: jsonBody(CreditTopUpBody),
  },
  responses: {
    201: jsonResponse(z.object({ balance: z.number().int() }), 'Credits added'),
    ...errors(400, 404, 409, 422),
  },
});

export const organizationsRouter = createRouter();

organizationsRouter.openapi(createOrg, async (c) => {
  const body = c.req.valid('json');
  const { db, config } = c.get('services');
  const { apiKey, apiKeyHash } = issueApiKey(config.appSecret);
  const org = await createOrganization(db.sql, {
    name: body.name,
    authMethod: body.authMethod,
    country: body.country ?? null,
    locale: body.locale,
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
  // The change and its audit event commit together or not at all.
  const org = await inTransaction(services.db.sql, async (tx) => {
    const before = await getOrganizationForUpdate(tx, id);
    if (!before) throw notFound('Organization');
    const after = await updateOrganization(tx, id, body);
    if (!after) throw notFound('Organization');
    if (
      before.authMethod !== after.authMethod ||
      before.name !== after.name ||
      before.locale !== after.locale
    ) {
      await recordAudit(tx, {
        organizationId: id,
        type: 'organization_updated',
        actor: 'platform',
        ip: clientAddress(c),
        data: {
          authMethod: { from: before.authMethod, to: after.authMethod },
          name: after.name,
          locale: after.locale,
        },
      });
    }
    return after;
  });
  services.organizations.put(org);
  return c.json(organizationJson(org), 200);
});

organizationsRouter.openapi(topUp, async (c) => {
  const id = parseId(c.req.valid('param').orgId, 'Organization');
  const body = c.req.valid('json');
  const { db } = c.get('services');
  const key = c.req.valid('header')['idempotency-key'];
  return idempotent(c, { key, scope: 'platform', body, status: 201 }, async (answer) => {
    const topUp = await addCredits(db.sql, {
      organizationId: id,
      amount: body.amount,
      reference: body.reference ?? null,
      actor: 'platform',
      ip: clientAddress(c),
      ...(answer ? { idempotency: answer } : {}),
    });
    if (topUp?.result === 'balance_limit') throw balanceLimit(topUp.balance);
    if (topUp === null) {
      // Under a claim, nothing written either means the claim was taken over.
      if (answer && (await getOrganization(db.sql, id))) {
        throw new IdempotencyClaimLost('idempotency claim taken over');
      }
      throw notFound('Organization');
    }
    return { balance: topUp.balance };
  });
});
