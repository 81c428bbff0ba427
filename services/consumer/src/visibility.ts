/**
 * Who may read which of a consumer's records (shipments, invoices): a pure rule on the verified
 * principal. A user sees their own; an admin sees their organisation's; nobody sees another
 * organisation's, and a token bound to no organisation (a service token) sees nothing.
 */
import type { Principal } from '@gatehouse/validator';

export const ADMIN_ROLE = 'admin';

/** A filter over (org_id, customer): customer null means "every customer of the org". */
export interface Visibility {
  orgId: string;
  customer: string | null;
}

export function visibilityOf(principal: Pick<Principal, 'sub' | 'orgId' | 'roles'>): Visibility | undefined {
  if (principal.orgId === undefined || principal.orgId === '') return undefined;
  const admin = principal.roles.includes(ADMIN_ROLE);
  return { orgId: principal.orgId, customer: admin ? null : principal.sub };
}

/**
 * The SQL form of a Visibility over a table with org_id and customer columns, as two parameters
 * at $n and $n+1, so every query keeps one fixed text (no string building from claims).
 */
export function visibilityClause(first: number): string {
  return `org_id = $${first} AND ($${first + 1}::text IS NULL OR customer = $${first + 1})`;
}

export function visibilityParams(visibility: Visibility): [string, string | null] {
  return [visibility.orgId, visibility.customer];
}
