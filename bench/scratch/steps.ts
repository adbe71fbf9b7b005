import { randomUUID } from 'node:crypto';
import { createServices } from '@twofa/api';
import { loadConfig } from '@twofa/config';
import { createChallenge, loadLoginContext } from '@twofa/db';
import { enqueueSendCode } from '@twofa/queue';
import { loadBenchConfig } from '../lib/config.ts';
import { stopAll } from '../lib/procs.ts';
import { createOrg, createUser } from '../lib/seed.ts';
import { Stack } from '../lib/stack.ts';

const stack = new Stack(loadBenchConfig(), null);
try {
  await stack.start(0);
  const org = await createOrg(stack.apiUrl, 'probe');
  const user = await createUser(stack.apiUrl, org);
  const services = createServices(loadConfig({ ...process.env, ...stack.env() }));
  const time = async (label: string, fn: () => Promise<unknown>) => {
    const t: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      await fn();
      t.push(performance.now() - t0);
    }
    t.sort((a, b) => a - b);
    console.log(label.padEnd(24), 'p50', t[20]!.toFixed(2), 'p90', t[36]!.toFixed(2));
  };
  await time('select 1', () => services.db.sql`select 1`);
  await time('redis ping', () => services.redis.ping());
  await time('loadLoginContext', () =>
    loadLoginContext(services.db.sql, org.id, { userId: user.id }, null),
  );
  await time('consume user_challenges', () =>
    services.rateLimits.consume('user_challenges', user.id),
  );
  await time('consumeAll 3', () =>
    services.rateLimits.consumeAll([
      ['user_challenges', user.id],
      ['destination_sends', user.phone],
      ['org_sends', org.id],
    ]),
  );
  await time('createChallenge', () =>
    createChallenge(services.db.sql, {
      organizationId: org.id,
      userId: user.id,
      ip: '203.0.113.1',
      phone: user.phone,
      sendId: randomUUID(),
      now: new Date(),
    }),
  );
  await time('enqueue', () => enqueueSendCode(services.sendQueue, randomUUID()));
  await services.db.close();
  services.redis.disconnect();
} finally {
  await stack.stop();
  await stopAll();
}
