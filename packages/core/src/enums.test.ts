import { describe, expect, it } from 'vitest';
import { AUTH_METHODS, LOCALES, ROLES, sqlList } from './enums.ts';

describe('sqlList', () => {
  it('quotes each value for an SQL in-list', () => {
    expect(sqlList(AUTH_METHODS)).toBe("'password', 'saml2', 'ldap'");
    expect(sqlList(ROLES)).toBe("'member', 'admin'");
    expect(sqlList(LOCALES)).toBe("'en', 'fi', 'sv'");
  });

  it('doubles quotes inside a value', () => {
    expect(sqlList(["o'clock", "''"])).toBe("'o''clock', ''''''");
  });

  it('is empty for no values', () => {
    expect(sqlList([])).toBe('');
  });
});
