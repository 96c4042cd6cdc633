/**
 * Delivery ids already accepted, so a delivery seen twice (a provider's retry, a captured
 * request sent again) triggers nothing the second time. Bounded: the oldest id leaves when
 * the cache is full (a Map keeps insertion order), so memory stays flat under any traffic.
 */
export class ReplayCache {
  readonly #seen = new Map<string, true>();
  readonly #capacity: number;
  constructor(capacity = 10_000) {
    this.#capacity = Math.max(1, capacity);
  }
  /** Records `id`; false when it was already there. */
  firstTime(id: string): boolean {
    if (this.#seen.has(id)) return false;
    this.#seen.set(id, true);
    if (this.#seen.size > this.#capacity) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return true;
  }
  get size(): number {
    return this.#seen.size;
  }
}
