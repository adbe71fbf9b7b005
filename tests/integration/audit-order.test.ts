/**
 * The audit log reads newest first by id, as numbers: the page used to sort by
 * the id's text (its alias), so event 99 came before event 100, and every
 * page read and sorted all of the organization's events.
 */

import { describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });

describe('audit log order', () => {
  it('pages newest first across a change in the number of digits', async () => {
    const org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
    await h.sql`select setval('audit_events_id_seq', 994)`;
    await h.sql`
      insert into audit_events (organization_id, type, actor, data)
      select ${org.id}, 'settings_changed', 'organization_key', '{}'::jsonb
      from generate_series(1, 12)`;
    const ids: string[] = [];
    let before: string | null = null;
    do {
      const query: string = before ? `&before=${before}` : '';
      const res = await h.request('GET', `/v1/audit-events?limit=5${query}`, { key: org.apiKey });
      expect(res.status).toBe(200);
      ids.push(...res.body.events.map((e: { id: string }) => e.id));
      before = res.body.nextCursor;
    } while (before);
    // Ids 995 to 1006: the newest first, 1006 before 999.
    const numbers = ids.map(Number).filter((id) => id >= 995);
    expect(numbers).toEqual(Array.from({ length: 12 }, (_, i) => 1006 - i));
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => b - a));
    // Everything the organization has, each once.
    expect(new Set(ids).size).toBe(ids.length);
  });
});
