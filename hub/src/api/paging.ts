import { EnosError, MAX_PAGE_SIZE, codes } from '@edgehub/shared';
import type { FindOptions, SortSpec } from '../store/port.js';
import type { Pagination } from './envelope.js';

export interface PaginationRequest {
  pageNo?: number;
  pageSize?: number;
  sorters?: { field: string; order?: 'ASC' | 'DESC' }[];
}

export { MAX_PAGE_SIZE };

/** Turns an EnOS pagination request into store options; sorting only on the fields allowed. */
export function toFindOptions(
  p: PaginationRequest | undefined,
  sortable: Record<string, string>,
  defaultSort: SortSpec[],
): { options: FindOptions; page: Omit<Pagination, 'totalSize'> } {
  const pageNo = p?.pageNo ?? 1;
  const pageSize = p?.pageSize ?? 10;
  if (pageSize > MAX_PAGE_SIZE)
    throw new EnosError(codes.invalidArgument, `Invalid Argument pagination.pageSize: at most ${MAX_PAGE_SIZE}`);
  const sort: SortSpec[] = (p?.sorters ?? []).map((s) => {
    const path = sortable[s.field];
    if (!path) throw new EnosError(codes.invalidArgument, `Invalid Argument pagination.sorters: ${s.field} cannot be sorted on`);
    return { field: path, order: s.order ?? 'ASC' };
  });
  const sortedBy = sort.length > 0 ? (p?.sorters ?? []).map((s) => ({ field: s.field, order: s.order ?? 'ASC' })) : null;
  return {
    options: { sort: sort.length > 0 ? sort : defaultSort, offset: (pageNo - 1) * pageSize, limit: pageSize },
    page: { pageNo, pageSize, sortedBy },
  };
}

/** Keeps only the projected top-level fields, when a projection is given. */
export function project<T extends object>(item: T, projection: string[] | undefined): Partial<T> {
  if (!projection || projection.length === 0) return item;
  const out: Record<string, unknown> = {};
  for (const f of projection) if (f in item) out[f] = (item as Record<string, unknown>)[f];
  return out as Partial<T>;
}
