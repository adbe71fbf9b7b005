/** axe-core in a Chromium page: serious and critical violations fail, the rest are reported. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** axe-core's browser bundle, injected into the page under test (the context needs bypassCSP). */
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

export interface AxeFinding {
  page: string;
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

export async function axeViolations(page: Page, name: string): Promise<AxeFinding[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const { axe } = globalThis as unknown as { axe: typeof import('axe-core') };
    const results = await axe.run({ resultTypes: ['violations'] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return violations.map((v) => ({ page: name, ...v }));
}

/** Fails on serious or critical findings; pushes the lesser ones onto `lesser` for a report. */
export async function expectAccessible(
  page: Page,
  name: string,
  lesser: AxeFinding[] = [],
): Promise<void> {
  const findings = await axeViolations(page, name);
  lesser.push(...findings.filter((f) => f.impact !== 'serious' && f.impact !== 'critical'));
  expect(
    findings.filter((f) => f.impact === 'serious' || f.impact === 'critical'),
    `axe on ${name}`,
  ).toEqual([]);
}
