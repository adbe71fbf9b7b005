import { loadBenchConfig } from '../lib/config.ts';
import { httpLoad } from '../lib/load.ts';
import { stopAll } from '../lib/procs.ts';
import { createOrg, createUser, trustDevices } from '../lib/seed.ts';
import { Stack } from '../lib/stack.ts';

const config = loadBenchConfig();
const stack = new Stack(config, null);
try {
  await stack.start(Number(process.env.WORKERS ?? 1));
  const org = await createOrg(stack.apiUrl, 'probe');
  const user = await createUser(stack.apiUrl, org);
  const [token] = await trustDevices(stack.sql, user, 1);
  const body = JSON.stringify({ userId: user.id, ip: '203.0.113.10', deviceToken: token });
  const challengeBody = JSON.stringify({ userId: user.id, ip: '203.0.113.10' });
  for (const path of ['/health', '/v1/challenges']) {
    for (const c of [1, 10, 50]) {
      const r = await httpLoad({
        url: stack.apiUrl,
        durationS: 3,
        connections: c,
        requests: [
          {
            method: path === '/health' ? 'GET' : 'POST',
            path,
            headers: { 'content-type': 'application/json', authorization: org.auth },
            body: path === '/health' ? undefined : process.env.SMS ? challengeBody : body,
          },
        ],
      });
      console.log(
        path,
        c,
        Math.round(r.perSec),
        'p50',
        r.p50Ms,
        'p99',
        r.p99Ms,
        JSON.stringify(r.statusCodes),
      );
    }
  }
} finally {
  await stack.stop();
  await stopAll();
}
