/** Small helpers for plain JSON-like objects. */

/** Freezes an object and everything reachable from it; already-frozen parts are skipped. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own, enumerable property, even one named `__proto__`: keys come from the input. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * Shares equal JSON values: `intern(v)` returns one deeply frozen instance for every value with
 * the same JSON text (key order counts), so a cache of objects that repeat the same parts (the
 * spec, labels and owners of every policy of one tenant) holds each part once. Entries go when
 * no one holds the shared instance any more. Values must be plain JSON data.
 */
export class Interner {
  private readonly byJson = new Map<string, WeakRef<object>>();
  private readonly registry = new FinalizationRegistry<string>((json) => {
    if (this.byJson.get(json)?.deref() === undefined) this.byJson.delete(json);
  });

  intern<T extends object>(value: T): T;
  intern<T extends object>(value: T | undefined): T | undefined;
  intern<T extends object>(value: T | undefined): T | undefined {
    if (value === undefined) return undefined;
    const json = JSON.stringify(value);
    const shared = this.byJson.get(json)?.deref() as T | undefined;
    if (shared !== undefined) return shared;
    deepFreeze(value);
    this.byJson.set(json, new WeakRef(value));
    this.registry.register(value, json);
    return value;
  }

  /** Distinct values held now (tests, metrics). */
  get size(): number {
    return this.byJson.size;
  }
}
