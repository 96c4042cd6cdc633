import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { genericDelivery, genericEndpoint, pushedBranches, secretFromFile } from '../../reconciler/webhooks/notify.ts';
import { HOOK_MARKER, isInfraHook, postReceiveScript, shellQuote } from '../../reconciler/webhooks/post-receive.ts';
import { signBody, verifySignature } from '../../reconciler/webhooks/sign.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const Z = '0'.repeat(40);

describe('post-receive hook text', () => {
  it('quotes any path so sh reads it back unchanged', () => {
    for (const s of [`it's a "repo" with $HOME and \`x\``, '/plain/path', '', "''", 'a\\b;rm -rf /']) {
      const r = spawnSync('sh', ['-c', `printf '%s' ${shellQuote(s)}`]);
      expect(r.stdout.toString()).toBe(s);
    }
  });

  it('notify mode: pins the node and infra paths, names the secret file, never a secret', () => {
    const text = postReceiveScript({ node: '/n/node', infra: "/x y/it's/infra.js", env: { INFRA_HOME: '/h' }, action: { mode: 'notify', server: 'http://127.0.0.1:1', source: 'app', secretFile: '/s/secret', repository: '/r.git' } });
    expect(text.split('\n').slice(0, 2)).toEqual(['#!/bin/sh', HOOK_MARKER]);
    expect(isInfraHook(text)).toBe(true);
    expect(text).toContain(`'/n/node' '/x y/it'\\''s/infra.js' hook notify --server 'http://127.0.0.1:1' --source 'app' --secret-file '/s/secret' --repository '/r.git' || true`);
    expect(text).toContain("INFRA_HOME='/h'; export INFRA_HOME");
    expect(text).not.toContain('post-receive.infra-chained');
  });

  it('reconcile mode runs in the background with its output in a log; a chained hook comes first', () => {
    const text = postReceiveScript({ node: '/n', infra: '/i.js', chained: '/r/hooks/post-receive.infra-chained', env: {}, action: { mode: 'reconcile', stackFile: '/s/stack.yaml', logFile: '/r/infra-reconcile.log', stateDir: '/r' } });
    const lines = text.split('\n');
    const chained = lines.findIndex((l) => l.includes("| '/r/hooks/post-receive.infra-chained' || status=$?"));
    const reconcile = lines.findIndex((l) => l.startsWith("nohup '/n' '/i.js' hook reconcile -f '/s/stack.yaml' --state-dir '/r' </dev/null >>'/r/infra-reconcile.log' 2>&1 &"));
    expect(chained).toBeGreaterThan(0);
    expect(reconcile).toBeGreaterThan(chained);
    expect(lines.at(-2)).toBe('exit $status');
    expect(isInfraHook('#!/bin/sh\necho mine\n')).toBe(false);
  });
});

describe('generic notification', () => {
  it('takes the branches a push moved, skipping deletions, tags and junk', () => {
    expect(pushedBranches(`${Z} ${A} refs/heads/main\n${A} ${Z} refs/heads/gone\n${Z} ${B} refs/tags/v1\nnonsense\n${A} ${B} refs/heads/dev\n`)).toEqual([
      { ref: 'refs/heads/main', after: A },
      { ref: 'refs/heads/dev', after: B },
    ]);
  });

  it('signs the exact body with HMAC-SHA256 and the agreed headers', () => {
    const d = genericDelivery({ server: 'http://h:8080/', source: 'app', repository: '/r.git', secret: 's3cret', push: { ref: 'refs/heads/main', after: A }, delivery: 'id-1' });
    expect(d.url).toBe('http://h:8080/webhooks/generic/app');
    expect(JSON.parse(d.body)).toEqual({ repository: '/r.git', ref: 'refs/heads/main', after: A });
    expect(d.headers['X-Infra-Signature']).toBe(`sha256=${createHmac('sha256', 's3cret').update(d.body).digest('hex')}`);
    expect(d.headers).toMatchObject({ 'X-Infra-Event': 'push', 'X-Infra-Delivery': 'id-1', 'Content-Type': 'application/json' });
    expect(genericEndpoint('https://h', 'a b')).toBe('https://h/webhooks/generic/a%20b');
  });

  it('reads the secret file as infra serve does: one trailing newline dropped, spaces kept', () => {
    expect(secretFromFile(Buffer.from('s3cret\n')).toString()).toBe('s3cret');
    expect(secretFromFile(Buffer.from('s3cret\r\n')).toString()).toBe('s3cret');
    expect(secretFromFile(Buffer.from(' s3cret \n\n')).toString()).toBe(' s3cret \n');
  });

  it('verifies a signature in constant time and refuses wrong, short or missing ones', () => {
    const sig = signBody('k', '{"a":1}');
    expect(verifySignature('k', '{"a":1}', sig)).toBe(true);
    expect(verifySignature('k', '{"a":2}', sig)).toBe(false);
    expect(verifySignature('other', '{"a":1}', sig)).toBe(false);
    expect(verifySignature('k', '{"a":1}', sig.slice(0, 20))).toBe(false);
    expect(verifySignature('k', '{"a":1}', sig.replace('sha256=', ''))).toBe(false);
    expect(verifySignature('k', '{"a":1}', undefined)).toBe(false);
  });
});
