import type { KubeClient } from '../../clusters/kube-client.ts';
import { encodeEntry, patchJournal, readJournal, type PendingObject } from '../status/journal-store.ts';
import { GroupCommit } from './group-commit.ts';

/**
 * The intent journal of one cluster: before an app creates objects its record does not track
 * yet, it notes them here and waits until that note is written; once the app's record is
 * written (and tracks them), the note is dropped. A crash in between leaves the note, and the
 * next round treats its objects as tracked (to prune or adopt). Notes of all the apps ready at
 * the same moment go out in one write, so a first apply of a thousand apps costs a few dozen
 * journal writes instead of a thousand widened records; removals ride along with the next
 * write, and the round's end writes what is left. A no-op round writes nothing.
 */

/** One app's entry may take this much (bytes); a bigger app widens its own record instead. */
export const APP_BUDGET = 16 * 1024;
/** The whole journal stays well under the 1 MiB an object may take. */
export const TOTAL_BUDGET = 512 * 1024;

export class Journal {
  private readonly client: KubeClient;
  private loaded: Promise<Map<string, PendingObject[]>> | undefined;
  /** Entries we believe the journal holds, by app, with their size. */
  private readonly sizes = new Map<string, number>();
  private readonly commits: GroupCommit<string, string | null>;

  constructor(client: KubeClient) {
    this.client = client;
    this.commits = new GroupCommit((batch, signal) => patchJournal(this.client, batch, signal));
  }

  /** Objects an earlier round noted for `app` and never settled (it stopped before its record was written). */
  async pending(app: string, signal?: AbortSignal): Promise<readonly PendingObject[]> {
    return (await this.load(signal)).get(app) ?? [];
  }

  /**
   * Notes that `app` may create `objects` (its whole unsettled set) and resolves once that is
   * written. False when the entry does not fit the budget: the caller widens its record instead.
   */
  async intend(app: string, objects: readonly PendingObject[], signal?: AbortSignal): Promise<boolean> {
    await this.load(signal);
    const entry = encodeEntry(objects);
    const size = app.length + entry.length;
    let total = 0;
    for (const [other, s] of this.sizes) if (other !== app) total += s;
    if (size > APP_BUDGET || total + size > TOTAL_BUDGET) return false;
    this.sizes.set(app, size);
    await this.commits.submit(app, entry, signal);
    return true;
  }

  /** `app`'s record now tracks everything it noted: drop its entry with the next write. */
  settle(app: string): void {
    if (!this.sizes.delete(app)) return;
    this.commits.enqueue(app, null);
  }

  /** Writes the removals still queued (end of round). */
  async close(signal?: AbortSignal): Promise<void> {
    await this.commits.flush(signal);
  }

  private load(signal?: AbortSignal): Promise<Map<string, PendingObject[]>> {
    if (!this.loaded) {
      const loading = readJournal(this.client, signal).then((entries) => {
        for (const [app, objects] of entries) this.sizes.set(app, app.length + encodeEntry(objects).length);
        return entries;
      });
      loading.catch(() => {
        if (this.loaded === loading) this.loaded = undefined; // read again next time
      });
      this.loaded = loading;
    }
    return this.loaded;
  }
}
