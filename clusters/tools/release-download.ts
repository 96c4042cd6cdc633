import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChecksumMismatchError } from '../errors.ts';
import { runCommand, tail } from '../host/command.ts';
import { publishedSha256 } from './checksum.ts';
import { DownloadError, downloadFile, fetchText, type DownloadTimeouts, type GetOptions, type Transfer } from './download.ts';
import { megabytes, withHeartbeat, type Progress } from './heartbeat.ts';
import type { ReleaseArtifact } from './release-artifacts.ts';
import type { BinarySpec } from './versions.ts';

export interface ReleaseDownloadOptions {
  /** Proxy settings are read from it. */
  readonly env: NodeJS.ProcessEnv;
  readonly progress: Progress;
  readonly heartbeatMs: number;
  readonly signal?: AbortSignal;
  readonly timeouts?: Partial<DownloadTimeouts>;
}

/**
 * Downloads one release artifact into `targetDir/<name>`: the published digest first, then
 * the artifact streamed through SHA-256 into a temporary file, compared, unpacked when it is
 * a .tar.gz, made 0755 and renamed into place. Nothing reaches `targetDir/<name>` unverified.
 * Returns the artifact's size in bytes.
 */
export async function downloadRelease(spec: BinarySpec, artifact: ReleaseArtifact, targetDir: string, options: ReleaseDownloadOptions): Promise<number> {
  const get: GetOptions = { env: options.env, ...(options.signal ? { signal: options.signal } : {}), ...(options.timeouts ? { timeouts: options.timeouts } : {}) };
  const expected = await expectedSha256(artifact, get);

  await mkdir(targetDir, { recursive: true });
  const partial = join(targetDir, `.${artifact.fileName}.partial-${process.pid}`);
  const unpacked = join(targetDir, `.unpack-${process.pid}`);
  const transfer: Transfer = { received: 0, total: undefined };
  try {
    const actual = await withHeartbeat(
      options.progress,
      options.heartbeatMs,
      (elapsed) => `  still downloading ${spec.name} (${elapsed}, ${megabytes(transfer.received)}${transfer.total ? ` of ${megabytes(transfer.total)}` : ''})…`,
      () => downloadFile(artifact.url, partial, transfer, get),
    );
    if (actual !== expected) {
      throw new ChecksumMismatchError(
        `${spec.name} v${spec.version} downloaded from ${artifact.url} has SHA-256 ${actual}, but ${checksumOrigin(artifact)} publishes ${expected}`,
        { expected, actual },
        { hint: 'the mirror or the transfer is corrupt or tampered with; nothing was installed. Check INFRA_RELEASE_MIRROR, or set INFRA_OFFLINE=1 to build from source' },
      );
    }
    let binary = partial;
    if (artifact.member) {
      await rm(unpacked, { recursive: true, force: true });
      await mkdir(unpacked, { recursive: true });
      const r = await runCommand('tar', ['-xzf', partial, '-C', unpacked, artifact.member], options.signal ? { signal: options.signal } : {});
      if (r.code !== 0) {
        throw new DownloadError('missing', new URL(artifact.url).host, `${artifact.url} has no ${artifact.member}: ${tail(r.stderr, 2)}`);
      }
      binary = join(unpacked, artifact.member);
    }
    await chmod(binary, 0o755);
    await rename(binary, join(targetDir, spec.name));
    return transfer.received;
  } finally {
    await rm(partial, { force: true });
    await rm(unpacked, { recursive: true, force: true });
  }
}

async function expectedSha256(artifact: ReleaseArtifact, get: GetOptions): Promise<string> {
  if (artifact.checksum.kind === 'pinned') {
    if (!artifact.checksum.sha256) throw new DownloadError('missing', new URL(artifact.url).host, `no SHA-256 is pinned for ${artifact.fileName}`);
    return artifact.checksum.sha256;
  }
  const url = artifact.checksum.url;
  const sum = publishedSha256(await fetchText(url, get), artifact.fileName);
  if (!sum) throw new DownloadError('missing', new URL(url).host, `${url} lists no SHA-256 for ${artifact.fileName}`);
  return sum;
}

function checksumOrigin(artifact: ReleaseArtifact): string {
  return artifact.checksum.kind === 'file' ? artifact.checksum.url : 'the pinned digest';
}
