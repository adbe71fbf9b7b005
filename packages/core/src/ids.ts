import { v7 } from 'uuid';

/**
 * A new row id: a UUIDv7 (RFC 9562), its first 48 bits the creation millisecond, the rest random
 * (with uuid's counter keeping ids of one millisecond in order). Rows written one after the other
 * get ids that sort after each other, so the big tables' primary keys and the indexes led by an id
 * grow at their right edge, and the rows a request reads (the newest) share a few hot pages rather
 * than one random page each of an index far larger than `shared_buffers`.
 */
export function newId(): string {
  return v7();
}

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The creation millisecond a UUIDv7 carries, or null for any other string. */
export function idTime(id: string): Date | null {
  if (!V7.test(id)) return null;
  return new Date(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}
