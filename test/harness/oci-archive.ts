import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { must } from './test-hosts-exec.ts';

/**
 * Packs local files into a one-layer OCI image archive (oci-layout tarball) that
 * `ctr -n k8s.io images import` takes: no registry, no network. Deterministic (sorted,
 * mtime 0, uid 0), so the same files give the same digest.
 */
export interface OciFile {
  /** Path on this machine. */
  readonly from: string;
  /** Absolute path inside the image. */
  readonly to: string;
}

export async function buildOciArchive(options: {
  readonly name: string;
  readonly files: readonly OciFile[];
  readonly entrypoint: readonly string[];
  readonly out: string;
}): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'infra-oci-'));
  try {
    const tree = join(work, 'tree');
    for (const f of options.files) {
      const target = join(tree, f.to);
      await mkdir(dirname(target), { recursive: true });
      await must('cp', ['--dereference', '--preserve=mode', f.from, target], `OCI image ${options.name}`);
    }
    const layerTar = join(work, 'layer.tar');
    await must('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', tree, '-cf', layerTar, '.'], `OCI image ${options.name}`);
    const raw = await readFile(layerTar);
    const layout = join(work, 'layout');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    const put = async (bytes: Buffer): Promise<{ digest: string; size: number }> => {
      const hex = createHash('sha256').update(bytes).digest('hex');
      await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
      return { digest: `sha256:${hex}`, size: bytes.length };
    };
    const layer = await put(gzipSync(raw));
    const config = await put(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Entrypoint: options.entrypoint },
          rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(raw).digest('hex')}`] },
        }),
      ),
    );
    const manifest = await put(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
        }),
      ),
    );
    const index = {
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': options.name } }],
    };
    await writeFile(join(layout, 'index.json'), JSON.stringify(index));
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await must('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', layout, '-cf', options.out, '.'], `OCI image ${options.name}`);
    return options.out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
