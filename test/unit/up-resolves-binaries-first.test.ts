import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runInfra } from '../harness/cli.ts';
import { startReleaseMirror, versionScript, type ReleaseMirror } from '../harness/release-mirror.ts';

/**
 * `infra up` resolves every binary the stack runs before the engine starts, with progress
 * lines, instead of building them silently inside the engine's provider. The real CLI runs
 * against a loopback release mirror whose `pulumi` is a fake that records which binaries were
 * already in the cache the first time the engine ran, then fails.
 */

let root: string;
let mirror: ReleaseMirror;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'infra-up-order-'));
  mirror = await startReleaseMirror();
});
afterAll(async () => {
  await mirror.close();
  await rm(root, { recursive: true, force: true });
});

it('infra up downloads the control plane before it starts the engine, saying so', { timeout: CLI_TEST_TIMEOUT_MS }, async () => {
  const marker = join(root, 'cache-when-engine-started');
  const cache = join(root, 'cache');
  for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const) await mirror.publish(name);
  await mirror.publish('pulumi', {
    script: `#!/bin/sh\n[ -e '${marker}' ] || ls '${cache}/bin' > '${marker}'\necho 'fake pulumi: no engine here' >&2\nexit 1\n`,
  });
  // kwok publishes no checksum, so it comes from PATH here (elsewhere it is built).
  const bin = join(root, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'kwok'), versionScript('kwok'));
  await chmod(join(bin, 'kwok'), 0o755);
  const stack = join(root, 'stack.yaml');
  await writeFile(stack, 'apiVersion: infra.dev/v1alpha1\nkind: Stack\nmetadata: {name: order}\nclusters:\n  - name: solo\n');

  const r = await runInfra(['up', '-f', stack], {
    PATH: `${bin}:/usr/bin:/bin`,
    INFRA_HOME: join(root, 'home'),
    INFRA_CACHE_DIR: cache,
    INFRA_RELEASE_MIRROR: mirror.base,
    PULUMI_CONFIG_PASSPHRASE: 'test',
  });

  expect(r.code, r.stderr).toBe(12);
  const inCache = (await readFile(marker, 'utf8')).split('\n').filter((l) => l && !l.endsWith('.lock'));
  expect(inCache).toEqual(['etcd-v3.6.16', 'kube-apiserver-v1.34.4', 'kube-controller-manager-v1.34.4', 'kube-scheduler-v1.34.4', 'pulumi-v3.259.0']);
  const downloaded = r.stderr.split('\n').filter((l) => l.startsWith('downloaded ')).map((l) => l.split(' ')[1]);
  expect(downloaded).toEqual(['pulumi', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']);
});
