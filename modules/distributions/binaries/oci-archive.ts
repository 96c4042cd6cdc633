import { createHash } from 'node:crypto';

/**
 * A one-layer OCI image archive (an image layout in a tar), as `ctr images import` reads it.
 * Pure and deterministic: the same binary gives the same bytes, so its digest is stable and a
 * host that already has it is left alone.
 */

export interface TarEntry {
  readonly name: string;
  readonly content: Buffer;
  readonly mode: number;
}

export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e.name, e.content.length, e.mode), e.content, Buffer.alloc((512 - (e.content.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function tarHeader(name: string, size: number, mode: number): Buffer {
  if (Buffer.byteLength(name) > 99) throw new Error(`tar entry name too long: ${name}`);
  const h = Buffer.alloc(512);
  const put = (offset: number, length: number, value: string) => h.write(value, offset, length, 'utf8');
  const num = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  put(0, 100, name);
  num(100, 8, mode);
  num(108, 8, 0);
  num(116, 8, 0);
  num(124, 12, size);
  num(136, 12, 0);
  h.fill(' ', 148, 156);
  put(156, 1, '0');
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  let sum = 0;
  for (const byte of h) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

const digest = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

export interface ImageSpec {
  /** Full reference, e.g. `infra.local/pause:1`. */
  readonly reference: string;
  readonly architecture: 'amd64' | 'arm64';
  readonly entrypoint: string;
  /** `KEY=value` lines of the image config (e.g. PATH, for commands given by name). */
  readonly env?: readonly string[];
  readonly files: readonly TarEntry[];
}

export function ociArchive(spec: ImageSpec): Buffer {
  const layer = tar(spec.files);
  const config = json({
    architecture: spec.architecture,
    os: 'linux',
    config: { Entrypoint: [spec.entrypoint], ...(spec.env ? { Env: spec.env } : {}) },
    rootfs: { type: 'layers', diff_ids: [digest(layer)] },
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length }],
  });
  const tag = spec.reference.slice(spec.reference.lastIndexOf(':') + 1);
  const index = json({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: digest(manifest),
        size: manifest.length,
        platform: { architecture: spec.architecture, os: 'linux' },
        annotations: { 'io.containerd.image.name': spec.reference, 'org.opencontainers.image.ref.name': tag },
      },
    ],
  });
  const blob = (b: Buffer): TarEntry => ({ name: `blobs/sha256/${digest(b).slice('sha256:'.length)}`, content: b, mode: 0o644 });
  return tar([
    { name: 'oci-layout', content: json({ imageLayoutVersion: '1.0.0' }), mode: 0o644 },
    { name: 'index.json', content: index, mode: 0o644 },
    blob(layer),
    blob(config),
    blob(manifest),
  ]);
}
