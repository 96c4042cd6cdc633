import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { SnapshotInvalidError } from '../errors.ts';
import { publishedSha256 } from '../tools/checksum.ts';

/**
 * A snapshot file and its checksum beside it (`<file>.sha256`, in `sha256sum` format so
 * `sha256sum -c` checks it too). A snapshot holds every Secret of the cluster: 0600.
 */

export function checksumPath(snapshot: string): string {
  return `${snapshot}.sha256`;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Publishes a finished snapshot at `target`: checksum first, then the file by rename, so a
 * crash leaves either the old pair, or a checksum that the old file fails (refused on restore).
 */
export async function publishSnapshot(partial: string, target: string): Promise<string> {
  await chmod(partial, 0o600);
  const sha256 = await sha256File(partial);
  const sumTmp = `${checksumPath(target)}.tmp`;
  await writeFile(sumTmp, `${sha256}  ${basename(target)}\n`, { mode: 0o600 });
  await rename(sumTmp, checksumPath(target));
  await rename(partial, target);
  return sha256;
}

/** Checks a snapshot against its checksum file; returns the digest. Changes nothing. */
export async function verifySnapshot(snapshot: string): Promise<string> {
  let sums: string;
  try {
    sums = await readFile(checksumPath(snapshot), 'utf8');
  } catch {
    throw new SnapshotInvalidError(`no checksum file ${checksumPath(snapshot)} beside the snapshot`, {
      where: snapshot,
      hint: '`infra etcd snapshot` writes one; for a snapshot made otherwise, write it with `sha256sum FILE > FILE.sha256` after checking the file',
    });
  }
  const expected = publishedSha256(sums, basename(snapshot));
  if (!expected) {
    throw new SnapshotInvalidError(`${checksumPath(snapshot)} lists no SHA-256 for ${basename(snapshot)}`, {
      where: checksumPath(snapshot),
      hint: 'the checksum file must hold `<sha256>  <file name>`',
    });
  }
  let actual: string;
  try {
    actual = await sha256File(snapshot);
  } catch (err) {
    throw new SnapshotInvalidError(`cannot read the snapshot: ${(err as Error).message}`, { where: snapshot });
  }
  if (actual !== expected) {
    throw new SnapshotInvalidError(`the snapshot's SHA-256 is ${actual}, its checksum file says ${expected}`, {
      where: snapshot,
      hint: 'the file is damaged or not the one the checksum was made for: nothing was restored; use another snapshot',
    });
  }
  return actual;
}
