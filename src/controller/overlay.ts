/**
 * Own writes the caches have not shown yet. After a write returns, the watch shows it a few
 * milliseconds to seconds later; a reconcile that runs in between must read what was written,
 * not the older cached object, or it writes again (and a deleted policy would come back).
 *
 * Entries are grouped (a namespace) and named (a policy name; one fixed name for a namespace's
 * member label). `null` records a delete.
 *
 * Guarantees: an entry goes when the cache shows any event for it (`seen`: the cache is then
 * at least as new as the write), and is ignored once older than `ttlMs`, so a write whose event
 * never arrives (a watch that missed it, then relisted) cannot hide a later change for long.
 * `sweep` drops every expired entry; reads drop the expired entries they meet.
 * Assumes: the clock is monotonic (performance.now by default).
 */
export interface Written<V> {
  readonly value: V | null;
}

export const OWN_WRITE_TTL_MS = 10_000;

export class OwnWrites<V> {
  private readonly groups = new Map<string, Map<string, { value: V | null; at: number }>>();

  constructor(
    private readonly ttlMs: number = OWN_WRITE_TTL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Notes that `value` was written at group/name (null: deleted). */
  wrote(group: string, name: string, value: V | null): void {
    let byName = this.groups.get(group);
    if (!byName) this.groups.set(group, (byName = new Map<string, { value: V | null; at: number }>()));
    byName.set(name, { value, at: this.now() });
  }

  /** The cache showed an event for group/name: it knows at least as much as the write. */
  seen(group: string, name: string): void {
    const byName = this.groups.get(group);
    if (!byName) return;
    byName.delete(name);
    if (byName.size === 0) this.groups.delete(group);
  }

  /** Every name of a group at once (a namespace's events, whatever they show). */
  seenGroup(group: string): void {
    this.groups.delete(group);
  }

  /** The unexpired write at group/name, if any. */
  get(group: string, name: string): Written<V> | undefined {
    const entry = this.groups.get(group)?.get(name);
    if (entry === undefined) return undefined;
    if (this.now() - entry.at > this.ttlMs) {
      this.seen(group, name);
      return undefined;
    }
    return entry;
  }

  /** The unexpired writes of a group, by name; undefined when there are none. */
  pending(group: string): ReadonlyMap<string, V | null> | undefined {
    const byName = this.groups.get(group);
    if (!byName) return undefined;
    const now = this.now();
    const out = new Map<string, V | null>();
    for (const [name, entry] of byName) {
      if (now - entry.at > this.ttlMs) byName.delete(name);
      else out.set(name, entry.value);
    }
    if (byName.size === 0) this.groups.delete(group);
    return out.size > 0 ? out : undefined;
  }

  /** `cached` with the group's unexpired writes laid over it (a delete removes the name). */
  overlay(group: string, cached: ReadonlyMap<string, V> | undefined): ReadonlyMap<string, V> {
    const pending = this.pending(group);
    if (!pending) return cached ?? new Map();
    const merged = new Map(cached);
    for (const [name, value] of pending) {
      if (value === null) merged.delete(name);
      else merged.set(name, value);
    }
    return merged;
  }

  /** Drops every expired entry. */
  sweep(): void {
    const now = this.now();
    for (const [group, byName] of this.groups) {
      for (const [name, entry] of byName) if (now - entry.at > this.ttlMs) byName.delete(name);
      if (byName.size === 0) this.groups.delete(group);
    }
  }

  /** Entries held, expired or not (for tests and gauges). */
  get size(): number {
    let n = 0;
    for (const byName of this.groups.values()) n += byName.size;
    return n;
  }
}
