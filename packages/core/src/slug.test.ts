import { describe, expect, it } from 'vitest';
import { numberedSlug, SLUG_MAX_LENGTH, SLUG_PATTERN, slugify } from './slug.ts';

describe('slugify', () => {
  it('makes a short readable name of an organization name', () => {
    expect(slugify('Happy Paws')).toBe('happy-paws');
    expect(slugify('  Happy   Paws!! ')).toBe('happy-paws');
    expect(slugify('Eläinklinikka Åström & Co.')).toBe('elainklinikka-astrom-co');
    expect(slugify('Straße Æbelø Łódź Đakovo Þór')).toBe('strasse-aebelo-lodz-dakovo-thor');
    expect(slugify('Vet 24/7')).toBe('vet-24-7');
    expect(slugify('--A--')).toBe('a');
  });

  it('gives `org` when no letter or digit is left', () => {
    expect(slugify('診療所')).toBe('org');
    expect(slugify('🐾 🐾')).toBe('org');
    expect(slugify('')).toBe('org');
  });

  it('never reads as an organization id', () => {
    const id = '3f2a9c1e-0b7d-4e55-9a10-2c4b8d6e7f01';
    expect(slugify(id)).toBe(`org-${id}`);
    expect(slugify(id.toUpperCase())).toBe(`org-${id}`);
    expect(slugify(`${id}x`)).toBe(`${id}x`.slice(0, SLUG_MAX_LENGTH));
    // Only a whole id is one: a name ending in one is its own slug.
    expect(slugify(`x ${id}`)).toBe(`x-${id}`);
  });

  it('cuts a long name at a whole word, or mid-word when the words are long', () => {
    const long = slugify('Eläinlääkäriasema Karvaturri ja Kumppanit Oy Pohjois-Pohjanmaa');
    expect(long).toBe('elainlaakariasema-karvaturri-ja');
    // A first word of exactly half the limit is kept whole.
    expect(slugify(`${'a'.repeat(20)} ${'b'.repeat(30)}`)).toBe('a'.repeat(20));
    expect(slugify(`${'a'.repeat(19)} ${'b'.repeat(30)}`)).toBe(
      `${'a'.repeat(19)}-${'b'.repeat(20)}`,
    );
    const oneWord = slugify(`${'a'.repeat(30)} ${'b'.repeat(30)}`);
    expect(oneWord).toBe('a'.repeat(30));
    const noWords = slugify('x'.repeat(100));
    expect(noWords).toBe('x'.repeat(SLUG_MAX_LENGTH));
    const exact = slugify('y'.repeat(SLUG_MAX_LENGTH));
    expect(exact).toBe('y'.repeat(SLUG_MAX_LENGTH));
    // A word boundary right at the limit keeps the whole first part.
    expect(slugify(`${'z'.repeat(SLUG_MAX_LENGTH)} tail`)).toBe('z'.repeat(SLUG_MAX_LENGTH));
    expect(slugify(`${'q'.repeat(15)} ${'r'.repeat(30)}`)).toBe(
      `${'q'.repeat(15)}-${'r'.repeat(SLUG_MAX_LENGTH - 16)}`,
    );
  });

  it('always matches the slug pattern, within the length', () => {
    for (const name of [
      'Happy Paws',
      '診療所',
      'a-b',
      'x'.repeat(90),
      '-- ÄÖ --',
      `${'A'.repeat(39)}-b`,
    ]) {
      const slug = slugify(name);
      expect(slug, name).toMatch(SLUG_PATTERN);
      expect(slug.length, name).toBeLessThanOrEqual(SLUG_MAX_LENGTH);
    }
  });
});

describe('numberedSlug', () => {
  it('numbers a second organization of the same name, within the length', () => {
    expect(numberedSlug('happy-paws', 1)).toBe('happy-paws');
    expect(numberedSlug('happy-paws', 2)).toBe('happy-paws-2');
    expect(numberedSlug('x'.repeat(SLUG_MAX_LENGTH), 12)).toBe(
      `${'x'.repeat(SLUG_MAX_LENGTH - 3)}-12`,
    );
    expect(numberedSlug(`${'a'.repeat(36)}-bbb`, 2)).toBe(`${'a'.repeat(36)}-b-2`);
    expect(numberedSlug(`${'a'.repeat(37)}-bb`, 2)).toBe(`${'a'.repeat(37)}-2`);
    expect(numberedSlug('happy-paws', 2)).toMatch(SLUG_PATTERN);
  });
});

describe('SLUG_PATTERN', () => {
  it('takes slugs and refuses the rest', () => {
    expect(SLUG_PATTERN.test('happy-paws')).toBe(true);
    expect(SLUG_PATTERN.test('a')).toBe(true);
    for (const bad of ['Happy', '-a', 'a-', 'a--b', 'a b', '', 'å']) {
      expect(SLUG_PATTERN.test(bad), bad).toBe(false);
    }
  });
});
