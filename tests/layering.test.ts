/**
 * Dependencies point one way: apps use packages, tests use both, and nothing
 * in a package reaches into an app (or into the tests' support). Outside an
 * app, it is reached through its package entry (`@twofa/api`), never its src/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/process.ts';

const APPS = readdirSync(join(REPO_ROOT, 'apps'));
const APP_NAMES = APPS.map(
  (dir) =>
    (
      JSON.parse(readFileSync(join(REPO_ROOT, 'apps', dir, 'package.json'), 'utf8')) as {
        name: string;
      }
    ).name,
);
/** Each app's declared entry points (`.`, `./reconciler`), in APP_NAMES' order. */
const APP_EXPORTS = APPS.map((dir) =>
  Object.keys(
    (
      JSON.parse(readFileSync(join(REPO_ROOT, 'apps', dir, 'package.json'), 'utf8')) as {
        exports?: Record<string, string>;
      }
    ).exports ?? {},
  ),
);
const PACKAGES = readdirSync(join(REPO_ROOT, 'packages'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|tsx|mts|js)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => !path.includes('node_modules'));
}

/** Every module specifier a file imports or re-exports, dynamic imports included. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
    found.push(match[1]!);
  }
  return found;
}

describe('layering', () => {
  it('finds the apps and packages it checks', () => {
    expect(APP_NAMES).toEqual(expect.arrayContaining(['@twofa/api', '@twofa/worker']));
    expect(PACKAGES.length).toBeGreaterThanOrEqual(6);
  });

  it('has no package depending on an app', () => {
    const offending: string[] = [];
    for (const pkg of PACKAGES) {
      const manifest = JSON.parse(
        readFileSync(join(REPO_ROOT, 'packages', pkg, 'package.json'), 'utf8'),
      ) as Record<string, Record<string, string> | undefined>;
      for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
        for (const name of Object.keys(manifest[field] ?? {})) {
          if (APP_NAMES.includes(name)) offending.push(`packages/${pkg}: ${field} ${name}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('has no package importing an app, and neither importing the tests', () => {
    const offending: string[] = [];
    const checked = [
      ...PACKAGES.map((pkg) => ({ dir: join(REPO_ROOT, 'packages', pkg), apps: true })),
      ...APPS.map((app) => ({ dir: join(REPO_ROOT, 'apps', app), apps: false })),
    ];
    for (const { dir, apps } of checked) {
      for (const file of sourceFiles(join(dir, 'src'))) {
        for (const spec of specifiers(file)) {
          const intoApp =
            APP_NAMES.some((name) => spec === name || spec.startsWith(`${name}/`)) ||
            /(^|\/)apps\//.test(spec);
          const intoTests = /(^|\/)tests\//.test(spec);
          if ((apps && intoApp) || intoTests) {
            offending.push(`${relative(REPO_ROOT, file)} imports ${spec}`);
          }
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('has nothing outside an app importing its src/ by path', () => {
    const offending: string[] = [];
    const outside = ['tests', 'bench', 'scripts', 'examples', 'packages'].flatMap((dir) =>
      sourceFiles(join(REPO_ROOT, dir)),
    );
    for (const file of outside) {
      for (const spec of specifiers(file)) {
        // A subpath is fine when the app's package.json exports it (an entry, not its src/).
        const deep =
          /(^|\/)apps\/[^/]+\/src(\/|$)/.test(spec) ||
          APP_NAMES.some(
            (name, i) =>
              spec.startsWith(`${name}/`) &&
              !APP_EXPORTS[i]!.includes(`.${spec.slice(name.length)}`),
          );
        if (deep) offending.push(`${relative(REPO_ROOT, file)} imports ${spec}`);
      }
    }
    expect(outside.length).toBeGreaterThan(50);
    expect(offending).toEqual([]);
  });
});
