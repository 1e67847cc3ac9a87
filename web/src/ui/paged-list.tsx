import { useState } from 'react';
import type { JobStatus, ModelInfo, Page } from '../../../src/client/index.ts';
import { type AsyncState, useAsync } from '../api.tsx';
import { navigate, useLocation } from '../router.tsx';

export const JOB_STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

/**
 * Filters kept in the URL's query, so a filtered list can be shared and survives a reload: the current
 * values (empty when unset), a key that changes with any of them, and a setter that replaces the URL.
 */
export function useUrlFilters<const N extends string>(
  names: readonly N[],
): { filter: Record<N, string>; key: string; setFilter(name: N, value: string): void } {
  const { path, query } = useLocation();
  const filter = Object.fromEntries(names.map((n) => [n, query.get(n) ?? ''])) as Record<N, string>;
  const setFilter = (name: N, value: string) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    const search = next.toString();
    navigate(search ? `${path}?${search}` : path, { replace: true });
  };
  return { filter, key: names.map((n) => filter[n]).join('|'), setFilter };
}

export interface PagedList<T> {
  first: AsyncState<Page<T>>;
  /** The first page and every page loaded since, for the current `key`. */
  items: T[];
  /** The next page's cursor; undefined at the end. */
  cursor: string | undefined;
  loadMore(): Promise<void>;
  /** Why the last `loadMore` failed. */
  moreError: unknown;
  /** Forgets the pages loaded after the first and reloads it (after an action changed the list). */
  reload(): void;
}

/**
 * A cursor-paged list: loads the first page whenever `key` changes and appends further pages on
 * `loadMore`; pages loaded under an older key are dropped.
 */
export function usePagedList<T>(key: string, request: (cursor?: string) => Promise<Page<T>>): PagedList<T> {
  const first = useAsync(() => request(), [key]);
  const [more, setMore] = useState<{ key: string; items: T[]; cursor?: string | undefined }>();
  const [moreError, setMoreError] = useState<unknown>();
  const extra = more?.key === key ? more : undefined;
  const cursor = extra ? extra.cursor : first.data?.nextCursor;
  return {
    first,
    items: [...(first.data?.items ?? []), ...(extra?.items ?? [])],
    cursor,
    moreError,
    async loadMore() {
      try {
        const page = await request(cursor);
        setMore({ key, items: [...(extra?.items ?? []), ...page.items], cursor: page.nextCursor });
      } catch (e) {
        setMoreError(e);
      }
    },
    reload() {
      setMore(undefined);
      first.reload();
    },
  };
}

/** A select of job statuses with an "Any status" choice. */
export function StatusFilter({ value, onChange }: { value: string; onChange(value: string): void }) {
  return (
    <label>
      Status
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Any status</option>
        {JOB_STATUSES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A select of models with an "Any model" choice. */
export function ModelFilter({
  value,
  models,
  onChange,
}: {
  value: string;
  models: ModelInfo[] | undefined;
  onChange(value: string): void;
}) {
  return (
    <label>
      Model
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Any model</option>
        {models?.map((m) => (
          <option key={m.name} value={m.name}>
            {m.title}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The "Load more" button, shown while there is a next page. */
export function LoadMore({ list }: { list: Pick<PagedList<unknown>, 'cursor' | 'loadMore'> }) {
  return list.cursor ? (
    <button type="button" className="button-secondary" onClick={list.loadMore}>
      Load more
    </button>
  ) : null;
}
