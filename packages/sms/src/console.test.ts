import { describe, expect, it } from 'vitest';
import { createConsoleProvider } from './console.ts';

describe('createConsoleProvider', () => {
  it('logs the message and keeps it in the dev inbox', async () => {
    const logged: { obj: object; msg: string }[] = [];
    const provider = createConsoleProvider({
      logger: { info: (obj, msg) => logged.push({ obj, msg }) },
    });

    const sent = await provider.send({ to: '+358401234567', body: 'code 123456', sendId: 's1' });

    expect(sent.providerMessageId).toMatch(/^console-[0-9a-f-]{36}$/);
    expect(sent.status).toBe('sent');
    expect(logged).toEqual([
      {
        obj: {
          to: '+358401234567',
          body: 'code 123456',
          sendId: 's1',
          providerMessageId: sent.providerMessageId,
        },
        msg: 'SMS to +358401234567',
      },
    ]);
    expect(provider.messages()).toMatchObject([
      { to: '+358401234567', body: 'code 123456', sendId: 's1' },
    ]);
  });

  it('keeps only the newest messages, newest first', async () => {
    const provider = createConsoleProvider({ logger: { info: () => {} }, capacity: 2 });
    for (const sendId of ['a', 'b', 'c'])
      await provider.send({ to: '+1555', body: sendId, sendId });

    expect(provider.messages().map((m) => m.sendId)).toEqual(['c', 'b']);
  });
});
