import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readCredentials } from '../../clusters/kubeconfig.ts';

/** In a pod, infra reaches its own cluster with the service account's projected token (deploy/30-config.yaml). */
describe('kubeconfig tokenFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-tokenfile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const write = async (user: Record<string, string>) => {
    const file = join(dir, 'kubeconfig');
    await writeFile(file, stringify({ clusters: [{ name: 'c', cluster: { server: 'https://10.0.0.1' } }], users: [{ name: 'u', user }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], 'current-context': 'x' }));
    return file;
  };

  it('resolves a relative tokenFile against the kubeconfig folder', async () => {
    expect(readCredentials(await write({ tokenFile: 'token' }), 'c').tokenFile).toBe(join(dir, 'token'));
    expect(readCredentials(await write({ tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' }), 'c').tokenFile).toBe('/var/run/secrets/kubernetes.io/serviceaccount/token');
  });

  it('an inline token wins over a tokenFile, as in kubectl', async () => {
    const c = readCredentials(await write({ token: 'inline', tokenFile: 'token' }), 'c');
    expect(c.token).toBe('inline');
    expect(c.tokenFile).toBeUndefined();
  });
});
