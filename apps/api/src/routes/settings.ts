import { z } from '@hono/zod-openapi';
import { DEFAULT_LOW_BALANCE_THRESHOLD } from '@twofa/core';
import { getLedger, getOrganization } from '@twofa/db';
import { changePasswordSettings } from '../domain/settings.ts';
import { notFound } from '../lib/errors.ts';
import { organizationKeyActor } from '../lib/http.ts';
import { createRouter, errors, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import {
  CountryCode,
  LedgerReason,
  PasswordSettings,
  SecondFactorMethods,
} from '../lib/schemas.ts';
import { passwordSettingsJson } from '../lib/serializers.ts';

const getSettings = orgRoute({
  method: 'get',
  path: '/v1/settings/password',
  tags: ['Settings'],
  operationId: 'getPasswordSettings',
  summary: "Read the organization's password settings",
  responses: { 200: jsonResponse(PasswordSettings, 'Password settings') },
});

const patchSettings = orgRoute({
  method: 'patch',
  path: '/v1/settings/password',
  tags: ['Settings'],
  operationId: 'updatePasswordSettings',
  summary: 'Turn 2FA on or off, set the skip networks, the allowed SMS countries and methods',
  description:
    'twoFactorEnabled: true is 409 two_factor_unavailable while the organization signs in with saml2 or ldap. A bad CIDR entry is 422 invalid_cidr and nothing is saved.',
  request: {
    body: jsonBody(
      z.object({
        twoFactorEnabled: z.boolean().optional(),
        skipTwoFactorCidrs: z.array(z.string().max(64)).max(10_000).optional(),
        smsAllowedCountries: z.array(CountryCode).max(250).optional(),
        methods: SecondFactorMethods.optional(),
      }),
    ),
  },
  responses: {
    200: jsonResponse(PasswordSettings, 'Updated settings'),
    ...errors(400, 409, 422),
  },
});

const getBalance = orgRoute({
  method: 'get',
  path: '/v1/sms-balance',
  tags: ['Settings'],
  operationId: 'getSmsBalance',
  summary: 'The prepaid SMS balance and its latest ledger lines',
  description: 'One code sent is one credit, debited before the provider is called.',
  responses: {
    200: jsonResponse(
      z.object({
        balance: z.number().int(),
        lowBalance: z.boolean(),
        lowBalanceThreshold: z.number().int(),
        ledger: z.array(
          z.object({
            delta: z.number().int(),
            reason: LedgerReason,
            balanceAfter: z.number().int(),
            createdAt: z.string(),
          }),
        ),
      }),
      'Balance and the latest ledger lines, newest first',
    ),
  },
});

export const settingsRouter = createRouter();

settingsRouter.openapi(getSettings, async (c) => {
  return c.json(passwordSettingsJson(c.get('organization').row), 200);
});

settingsRouter.openapi(patchSettings, async (c) => {
  const body = c.req.valid('json');
  const org = await changePasswordSettings(
    c.get('services'),
    c.get('organization').row,
    body,
    organizationKeyActor(c),
  );
  return c.json(passwordSettingsJson(org), 200);
});

settingsRouter.openapi(getBalance, async (c) => {
  const services = c.get('services');
  const organizationId = c.get('organizationId');
  const [ledger, org] = await Promise.all([
    getLedger(services.db.sql, organizationId, 50),
    getOrganization(services.db.sql, organizationId),
  ]);
  if (!org) throw notFound('Organization');
  const balance = org.smsBalance;
  const threshold = org.lowBalanceThreshold ?? DEFAULT_LOW_BALANCE_THRESHOLD;
  return c.json(
    {
      balance,
      lowBalance: balance < threshold,
      lowBalanceThreshold: threshold,
      ledger: ledger.map((l) => ({ ...l, createdAt: l.createdAt.toISOString() })),
    },
    200,
  );
});
