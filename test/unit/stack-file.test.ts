import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultStackFile, EMBEDDED_STACK, INIT_MARKER } from '../../cli/stack-file.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-default-stack-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the stack a command uses without -f', () => {
  it('is the embedded local stack in an empty directory', async () => {
    expect(await defaultStackFile(dir)).toBe(EMBEDDED_STACK);
  });

  it('is ./stacks/local.yaml when there is one', async () => {
    await mkdir(join(dir, 'stacks'));
    await writeFile(join(dir, 'stacks', 'local.yaml'), 'x');
    expect(await defaultStackFile(dir)).toBe(join(dir, 'stacks', 'local.yaml'));
  });

  it('is the stack.yaml infra init wrote, but not any stack.yaml', async () => {
    await writeFile(join(dir, 'stack.yaml'), 'apiVersion: something-else\n');
    expect(await defaultStackFile(dir)).toBe(join(dir, 'stacks', 'local.yaml'));
    await writeFile(join(dir, 'stack.yaml'), `${INIT_MARKER}. Run it.\n`);
    expect(await defaultStackFile(dir)).toBe(join(dir, 'stack.yaml'));
  });
});
