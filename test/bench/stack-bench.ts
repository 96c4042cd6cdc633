import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/**
 * `infra up` of the embedded local stack and `infra preview` of a large generated stack, run as
 * the real CLI. Baselines in the same run: the same two clusters brought up by `infra local up`
 * (no engine, no apps), and a preview of an empty stack (the engine's own floor).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INFRA = join(ROOT, 'cli', 'bin', 'infra.js');

export interface StackFigures {
  readonly coldUpSeconds: number;
  readonly localUpBaselineSeconds: number;
  readonly coldUpOverLocalUp: number;
  readonly noopUpSeconds: number;
  readonly emptyPreviewSeconds: number;
  readonly noopUpOverEmptyPreview: number;
  readonly preview50Hosts10ClustersSeconds: number;
  readonly previewOverEmptyPreview: number;
}

function time(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(INFRA, args, { env: { ...env, PATH: `${dirname(process.execPath)}:${env['PATH'] ?? ''}` }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`infra ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

function generated(hosts: number, clusters: number): string {
  return stringify({
    apiVersion: 'infra.dev/v1alpha1',
    kind: 'Stack',
    metadata: { name: 'fleet' },
    sites: [
      { name: 'dc', kind: 'ssh', labels: { region: 'eu' } },
      { name: 'shops', kind: 'ssh', edge: true, labels: { region: 'eu' } },
    ],
    // Documentation addresses (RFC 5737): a preview never connects to them.
    hosts: Array.from({ length: hosts }, (_, i) => ({ name: `h${i}`, site: i < hosts / 2 ? 'dc' : 'shops', address: `192.0.2.${i + 1}`, memoryGiB: i < hosts / 2 ? 32 : 2, disks: ['/dev/vdb'] })),
    clusters: Array.from({ length: clusters }, (_, c) => {
      const per = hosts / clusters;
      return { name: `c${c}`, site: c < clusters / 2 ? 'dc' : 'shops', hosts: Array.from({ length: per }, (_, k) => `h${c * per + k}`) };
    }),
  });
}

export async function benchStack(): Promise<StackFigures> {
  const home = await mkdtemp(join(tmpdir(), 'infra-bench-stack-'));
  const env = { ...process.env, INFRA_HOME: home };
  const local = join(home, 'local.yaml');
  await writeFile(local, (await readFile(join(ROOT, 'stacks', 'local.yaml'), 'utf8')).replace('url: ..  ', `url: ${ROOT}`));
  const fleet = join(home, 'fleet.yaml');
  await writeFile(fleet, generated(50, 10));
  const empty = join(home, 'empty.yaml');
  await writeFile(empty, 'apiVersion: infra.dev/v1alpha1\nkind: Stack\nmetadata: {name: empty}\n');
  try {
    await time(['preview', '-f', empty], env); // warm the engine once (plugin cache, workspace)
    const emptyPreview = await time(['preview', '-f', empty], env);
    const localUp = await Promise.all([time(['local', 'up', 'core', '--nodes', '2'], env), time(['local', 'up', 'edge', '--nodes', '1'], env)]).then((t) => Math.max(...t));
    await time(['local', 'down', 'core', '--purge'], env);
    await time(['local', 'down', 'edge', '--purge'], env);
    const coldUp = await time(['up', '-f', local], env);
    const noopUp = await time(['up', '-f', local], env);
    const preview = await time(['preview', '-f', fleet], env);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    return {
      coldUpSeconds: r2(coldUp),
      localUpBaselineSeconds: r2(localUp),
      coldUpOverLocalUp: r2(coldUp / localUp),
      noopUpSeconds: r2(noopUp),
      emptyPreviewSeconds: r2(emptyPreview),
      noopUpOverEmptyPreview: r2(noopUp / emptyPreview),
      preview50Hosts10ClustersSeconds: r2(preview),
      previewOverEmptyPreview: r2(preview / emptyPreview),
    };
  } finally {
    await time(['destroy', '-f', local], env).catch(() => 0);
    await rm(home, { recursive: true, force: true });
  }
}
