import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readSshConfig } from '../../modules/hosts/ssh-config-file.ts';
import { resolveTarget } from '../../modules/hosts/ssh-config.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

it('inlines Include files (globs in order, relative to ~/.ssh, nested) so their Host blocks apply', async () => {
  const home = await mkdtemp(join(tmpdir(), 'infra-ssh-home-'));
  dirs.push(home);
  await mkdir(join(home, '.ssh', 'config.d'), { recursive: true });
  await writeFile(join(home, '.ssh', 'config'), 'Include config.d/*.conf\nHost *\n  User fallback\n');
  await writeFile(join(home, '.ssh', 'config.d', '10-lab.conf'), 'Host lab-*\n  User labuser\n  Include ~/.ssh/jump.inc\n');
  await writeFile(join(home, '.ssh', 'config.d', '20-db.conf'), 'Host db\n  HostName 10.1.1.1\n');
  await writeFile(join(home, '.ssh', 'jump.inc'), '  ProxyJump bastion\n');
  await writeFile(join(home, '.ssh', 'config.d', 'ignored.txt'), 'Host lab-*\n  User wrong\n');
  const text = await readSshConfig(join(home, '.ssh', 'config'), home);
  const ctx = { configText: text, home, localUser: 'me' };
  const lab = resolveTarget({ host: 'lab-3' }, ctx);
  expect([lab.user, lab.jumps.map((j) => j.alias)]).toEqual(['labuser', ['bastion']]);
  expect(resolveTarget({ host: 'db' }, ctx)).toMatchObject({ hostName: '10.1.1.1', user: 'fallback' });
  expect(await readSshConfig(join(home, 'missing'), home)).toBe('');

  await writeFile(join(home, '.ssh', 'loop'), 'Include ~/.ssh/loop\n');
  await expect(readSshConfig(join(home, '.ssh', 'loop'), home)).rejects.toThrow(/Include nested deeper/);
});
