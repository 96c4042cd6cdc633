import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderKubeconfig } from '../../clusters/local/kubeconfig-file.ts';

describe('kubeconfig rendering', () => {
  it('embeds credentials as base64 data for the admin file', () => {
    const doc = parse(
      renderKubeconfig({
        contextName: 'infra-demo',
        server: 'https://127.0.0.1:6443',
        user: 'admin',
        ca: { data: 'CA PEM' },
        clientCert: { data: 'CERT PEM' },
        clientKey: { data: 'KEY PEM' },
      }),
    );
    expect(doc['current-context']).toBe('infra-demo');
    expect(doc.clusters[0].cluster).toEqual({
      server: 'https://127.0.0.1:6443',
      'certificate-authority-data': Buffer.from('CA PEM').toString('base64'),
    });
    expect(doc.clusters[0].cluster['insecure-skip-tls-verify']).toBeUndefined();
    expect(doc.users[0].user['client-key-data']).toBe(Buffer.from('KEY PEM').toString('base64'));
  });

  it('references files for component kubeconfigs', () => {
    const doc = parse(
      renderKubeconfig({
        contextName: 'c',
        server: 'https://127.0.0.1:1',
        user: 'kwok',
        ca: { file: '/p/ca.crt' },
        clientCert: { file: '/p/kwok.crt' },
        clientKey: { file: '/p/kwok.key' },
      }),
    );
    expect(doc.clusters[0].cluster['certificate-authority']).toBe('/p/ca.crt');
    expect(doc.users[0].user).toEqual({ 'client-certificate': '/p/kwok.crt', 'client-key': '/p/kwok.key' });
  });
});
