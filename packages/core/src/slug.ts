/** The longest slug, so a login link stays short enough to read aloud and type. */
export const SLUG_MAX_LENGTH = 40;

/** A slug: lowercase letters, digits and single hyphens inside. */
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Letters that lose no accent to NFD but have a plain spelling. */
const SPELLED: Record<string, string> = { ß: 'ss', æ: 'ae', ø: 'o', đ: 'd', ł: 'l', þ: 'th' };

/**
 * The short, readable name an organization is reached by (`/login?org=happy-paws`),
 * derived from its name: accents dropped, anything else between words a hyphen,
 * at most SLUG_MAX_LENGTH characters, cut at a word when it can be. A name with
 * no letter or digit to keep gives `org`; one that reads as an id is prefixed,
 * so a slug is never taken for an organization's id.
 */
export function slugify(name: string): string {
  const plain = name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[ßæøđłþ]/g, (char) => SPELLED[char] ?? char);
  // Runs collapse to one hyphen, so at most one stands at either end.
  let slug = plain.replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  if (slug.length > SLUG_MAX_LENGTH) {
    const cut = slug.slice(0, SLUG_MAX_LENGTH + 1);
    const lastHyphen = cut.lastIndexOf('-');
    // At the last whole word, unless that leaves too little of the name. A cut mid-word
    // cannot end on a hyphen: a hyphen at the last place would be the last whole word's end.
    slug = lastHyphen >= SLUG_MAX_LENGTH / 2 ? cut.slice(0, lastHyphen) : cut.slice(0, -1);
  }
  if (slug === '') return 'org';
  // An id is 36 characters: with the prefix, 40.
  return UUID_SHAPE.test(slug) ? `org-${slug}` : slug;
}

/** The slug with a number, for a second organization of the same name: `happy-paws-2`. */
export function numberedSlug(slug: string, n: number): string {
  if (n <= 1) return slug;
  const suffix = `-${n}`;
  return `${slug.slice(0, SLUG_MAX_LENGTH - suffix.length).replace(/-$/, '')}${suffix}`;
}
