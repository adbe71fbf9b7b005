/**
 * The hosted prompt's full round, as an app and a browser make it: PAR with PKCE (openid-client),
 * the browser to the authorization endpoint and on to the code step (the SMS goes out), the code
 * posted, the redirect back with a code, and the token request with the ID token checked.
 * Measured beside the API's second step (POST /v1/challenges + verify) in alternating runs, so a
 * noisy neighbour hits both alike.
 */
import * as oidc from 'openid-client';
import {
  browse,
  CookieJar,
  csrfOf,
  formAction,
  pushAuthorization,
} from '../../tests/support/prompt.ts';
import { perOp } from './cpu.ts';
import { closedLoop, expectStatus, type FlowResult, request } from './flows.ts';
import { type Ctx, oursSecondStep, repeat } from './scenarios.ts';
import type { Org, User } from './seed.ts';
import { codeOf } from './sink-client.ts';

/** Never visited: the round stops at the redirect to it and hands its URL to openid-client. */
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

export interface PromptRun {
  api: FlowResult;
  prompt: FlowResult;
  /** CPU ms per flow, per component (and `total`). */
  apiCpu: Record<string, number>;
  promptCpu: Record<string, number>;
}

/** One app per organization, registered with /v1/apps, configured by discovery as any app is. */
export async function registerPromptApps(
  ctx: Ctx,
  orgs: Org[],
): Promise<Map<string, oidc.Configuration>> {
  const apps = new Map<string, oidc.Configuration>();
  for (const org of orgs) {
    const app = await request(`${ctx.stack.apiUrl}/v1/apps`, {
      headers: { authorization: org.auth },
      body: { name: 'bench app', redirectUris: [REDIRECT_URI] },
    });
    expectStatus(app, 201, 'POST /v1/apps');
    const config = await oidc.discovery(
      new URL(ctx.stack.apiUrl),
      app.body.clientId,
      app.body.clientSecret,
      oidc.ClientSecretBasic(app.body.clientSecret),
      { execute: [oidc.allowInsecureRequests] },
    );
    apps.set(org.id, config);
  }
  return apps;
}

function promptRound(ctx: Ctx, users: User[], apps: Map<string, oidc.Configuration>) {
  const { stack } = ctx;
  return async (vu: number) => {
    const user = users[vu]!;
    const config = apps.get(user.org.id)!;
    const sms = stack.sink.next(user.phone);
    try {
      const started = await pushAuthorization(config, {
        redirectUri: REDIRECT_URI,
        loginHint: user.email,
      });
      const jar = new CookieJar();
      const step = await browse(jar, started.url.href);
      if (step.final.status !== 200 || !step.final.body.includes('name="code"')) {
        throw new Error(`prompt: expected the code step, got ${step.final.status}`);
      }
      const code = codeOf((await sms).body);
      if (!code) throw new Error('prompt: no code in the SMS');
      const back = await browse(jar, formAction(step.final.body, stack.apiUrl, '/code'), {
        form: { csrf: csrfOf(step.final.body), code },
      });
      const callback = back.final.location;
      if (!callback?.startsWith(REDIRECT_URI)) {
        throw new Error(`prompt: expected the redirect back, got ${back.final.status}`);
      }
      const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), {
        pkceCodeVerifier: started.verifier,
        expectedState: started.state,
        expectedNonce: started.nonce,
        idTokenExpected: true,
      });
      if ((tokens.claims()?.twofa as { result?: string } | undefined)?.result !== 'verified') {
        throw new Error('prompt: the ID token does not say verified');
      }
    } catch (error) {
      stack.sink.cancel(user.phone);
      throw error;
    }
  };
}

export async function promptRounds(
  ctx: Ctx,
  users: User[],
  apps: Map<string, oidc.Configuration>,
): Promise<PromptRun[]> {
  const vus = users.length;
  const api = oursSecondStep(ctx, users);
  const prompt = promptRound(ctx, users, apps);
  return repeat(ctx, 'prompt round vs API second step', async (durationS) => {
    let cpu = await ctx.stack.startCpu();
    const a = await closedLoop(vus, durationS, api);
    const apiCpu = perOp(await cpu(), Math.max(1, a.completed));
    cpu = await ctx.stack.startCpu();
    const p = await closedLoop(vus, durationS, prompt);
    const promptCpu = perOp(await cpu(), Math.max(1, p.completed));
    for (const [who, r] of [
      ['API second step', a],
      ['prompt', p],
    ] as const) {
      if (r.failed) throw new Error(`${who}: ${r.failed} failed, first: ${r.firstError}`);
    }
    return { api: a, prompt: p, apiCpu, promptCpu };
  });
}
