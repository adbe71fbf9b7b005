import type { OrganizationRow } from '@twofa/db';
import { createContext, useContext } from 'hono/jsx';
import type { PageContext } from './session.ts';

/** The organization a page belongs to, and whether its reader administers it. */
export interface PageOrganization {
  row: OrganizationRow;
  /** An admin's pages show the SMS balance when it is low or used up. */
  admin: boolean;
}

const pageOrganizations = new WeakMap<PageContext, PageOrganization>();

/**
 * Names the organization of the page this request renders: its header then
 * shows the organization's name, and an admin's every page its SMS balance
 * state. Set where the organization is known (the guards, the login steps).
 */
export function setPageOrganization(c: PageContext, org: PageOrganization): void {
  pageOrganizations.set(c, org);
}

export function pageOrganizationOf(c: PageContext): PageOrganization | null {
  return pageOrganizations.get(c) ?? null;
}

/** Provided by `render` around every page; read by the layout. */
export const PageOrganizationContext = createContext<PageOrganization | null>(null);

export function usePageOrganization(): PageOrganization | null {
  return useContext(PageOrganizationContext);
}
