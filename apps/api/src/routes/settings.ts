import { createRoute, z } from '@hono/zod-openapi';
import {
  CidrError,
  DEFAULT_LOW_BALANCE_THRESHOLD,
  isTwoFactorAvailable,
  normalizeCidrs,
} from '@twofa/core';
import { getLedger, getOrganization, recordAudit, updatePasswordSettings } from '@twofa/db';
import type { Context } from 'hono';
import { clientAddress } from '../lib/client-address.ts';
import type { AppEnv } from '../lib/env.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { bearerSecurity, createRouter, errors, jsonBody, jsonResponse } from '../lib/openapi.ts';
import { CountryCode, PasswordSettings } from '../lib/schemas.ts';
import { passwordSettingsJson } from '../lib/serializers.ts';
import { organizationAuth } from '../middleware/auth.ts';

const getSettings = createRoute({
  method: 'get',
  path: '/v1/settings/password',
  tags: ['Settings'],
  security: bearerSecurity,
  responses: { 200: jsonResponse(PasswordSettings, 'Password settings'), ...errors(401, 403) },
});

const patchSettings = createRoute({
  method: 'patch',
  path: '/v1/settings/password',
  tags: ['Settings'],
  security: bearerSecurity,
  request: {
    body: jsonBody(
      z.object({
        twoFactorEnabled: z.boolean().optional(),
        skipTwoFactorCidrs: z.array(z.string().max(64)).max(10_000).optional(),
        smsAllowedCountries: z.array(CountryCode).max(250).optional(),
      }),
    ),
  },
  responses: {
    200: jsonResponse(PasswordSettings, 'Updated settings'),
    ...errors(400, 401, 403, 409, 422),
  },
});

const getBalance = createRoute({
  method: 'get',
  path: '/v1/sms-balance',
  tags: ['Settings'],
  security: bearerSecurity,
  responses: {
    200: jsonResponse(
      z.object({
        balance: z.number().int(),
        lowBalance: z.boolean(),
        lowBalanceThreshold: z.number().int(),
        ledger: z.array(
          z.object({
            delta: z.number().int(),
            reason: z.string(),
            balanceAfter: z.number().int(),
            createdAt: z.string(),
          }),
        ),
      }),
      'Balance and the latest ledger lines, newest first',
    ),
    ...errors(401, 403),
  },
});

export const settingsRouter = createRouter();
settingsRouter.use('/v1/settings/*', organizationAuth);
settingsRouter.use('/v1/sms-balance', organizationAuth);

async function currentOrganization(c: Context<AppEnv>) {
  const org = await c.get('services').organizations.get(c.get('organizationId'));
  if (!org) throw notFound('Organization');
  return org.row;
}

settingsRouter.openapi(getSettings, async (c) => {
  return c.json(passwordSettingsJson(await currentOrganization(c)), 200);
});

settingsRouter.openapi(patchSettings, async (c) => {
  const body = c.req.valid('json');
  const services = c.get('services');
  const organizationId = c.get('organizationId');
  let cidrs: string[] | undefined;
  if (body.skipTwoFactorCidrs) {
    try {
      cidrs = normalizeCidrs(body.skipTwoFactorCidrs);
    } catch (error) {
      if (error instanceof CidrError) {
        throw new ApiError('invalid_cidr', error.message, { entry: error.entry });
      }
      throw error;
    }
  }
  const before = await currentOrganization(c);
  if (body.twoFactorEnabled === true && !isTwoFactorAvailable(before.authMethod)) {
    throw new ApiError(
      'two_factor_unavailable',
      `Two-factor authentication is not available while the organization signs in with ${before.authMethod}.`,
    );
  }
  const countries = body.smsAllowedCountries ? [...new Set(body.smsAllowedCountries)] : undefined;
  const org = await updatePasswordSettings(services.db.sql, organizationId, {
    twoFactorEnabled: body.twoFactorEnabled,
    skipTwoFactorCidrs: cidrs,
    smsAllowedCountries: countries,
  });
  if (!org) throw notFound('Organization');
  services.organizations.put(org);
  const changes: Record<string, unknown> = {};
  if (before.twoFactorEnabled !== org.twoFactorEnabled) {
    changes.twoFactorEnabled = { from: before.twoFactorEnabled, to: org.twoFactorEnabled };
  }
  if (cidrs)
    changes.skipTwoFactorCidrs = { from: before.skipTwoFactorCidrs, to: org.skipTwoFactorCidrs };
  if (countries) {
    changes.smsAllowedCountries = { from: before.smsAllowedCountries, to: org.smsAllowedCountries };
  }
  if (Object.keys(changes).length > 0) {
    await recordAudit(services.db.sql, {
      organizationId,
      type: 'settings_changed',
      actor: 'organization_key',
      ip: clientAddress(c),
      data: changes,
    });
  }
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
