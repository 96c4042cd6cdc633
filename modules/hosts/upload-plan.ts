/**
 * Whether an upload must write, only fix mode/owner, or can skip: the remote state is read by
 * one command (`sha256 mode owner:group`, or nothing when the file is missing). Pure.
 */

export interface RemoteFileState {
  readonly sha256: string;
  /** Octal permission bits as `stat -c %a` prints them, e.g. `644`. */
  readonly mode: string;
  /** `user:group`. */
  readonly owner: string;
}

export interface UploadWant {
  readonly sha256: string;
  /** Octal, e.g. `0600` or `600`. */
  readonly mode?: string | undefined;
  /** `user`, or `user:group`. */
  readonly owner?: string | undefined;
}

export type UploadAction = { readonly kind: 'skip' } | { readonly kind: 'attributes' } | { readonly kind: 'write' };

export function normalMode(mode: string): string {
  const n = mode.replace(/^0+(?=\d)/, '');
  return n === '' ? '0' : n;
}

function ownerMatches(want: string, have: string): boolean {
  const [wu, wg] = want.split(':');
  const [hu, hg] = have.split(':');
  return wu === hu && (wg === undefined || wg === '' || wg === hg);
}

/** Parses the probe's output: empty → missing; else `sha mode user:group`. */
export function parseRemoteFileState(probe: string): RemoteFileState | undefined {
  const [sha256, mode, owner] = probe.trim().split(/\s+/);
  if (!sha256 || !mode || !owner) return undefined;
  return { sha256, mode, owner };
}

export function planUpload(want: UploadWant, have: RemoteFileState | undefined): UploadAction {
  if (!have || have.sha256 !== want.sha256) return { kind: 'write' };
  const modeOk = want.mode === undefined || normalMode(want.mode) === normalMode(have.mode);
  const ownerOk = want.owner === undefined || ownerMatches(want.owner, have.owner);
  return modeOk && ownerOk ? { kind: 'skip' } : { kind: 'attributes' };
}
