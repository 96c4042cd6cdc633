import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInfra } from '../harness/cli.ts';
import { startKvm, stopKvm, virsh, type KvmRun } from '../harness/kvm-harness.ts';
import { ensureKvmImage, type KvmImage } from '../harness/kvm-image.ts';
import { startKvmSshd, type KvmSshd } from '../harness/kvm-sshd.ts';
import { kvmStack, writeKvmStack, type KvmStackFixture } from '../harness/kvm-stack.ts';

/**
 * A kvm site whose libvirt host is reached over `qemu+ssh://` (a real sshd in front of the
 * harness's private libvirtd): its host key is checked like any SSH host's — pinned into the
 * stack's state on first use, a changed key refused with both fingerprints before libvirt is
 * asked anything — and virsh's own ssh accepts only that key.
 */
let kvm: KvmRun;
let image: KvmImage;
let fx: KvmStackFixture;
let sshd: KvmSshd;

const errorLines = (text: string) => text.split('\n').filter((l) => l.startsWith('error: ') && !l.includes('Command failed with exit code'));
const up = () => runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);

beforeAll(async () => {
  image = await ensureKvmImage();
  kvm = await startKvm();
  fx = await kvmStack(kvm, image, [], { user: 'root', stack: 'far' });
  sshd = await startKvmSshd(kvm, `${fx.keyPath}.pub`);
  await writeKvmStack(fx.stackFile, kvm, image, [], { user: 'root', pool: fx.pool, stack: 'far', site: 'far', uri: sshd.uri });
}, 900_000);

afterAll(async () => {
  if (kvm) await stopKvm(kvm);
});

describe('kvm site over qemu+ssh', () => {
  it('infra up pins the libvirt host key and makes pool, image volume and network through ssh', async () => {
    const r = await up();
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    // The libvirt host's Host (its key pinned), pool, image volume, network.
    expect(r.stdout).toContain('up of stack "far": 4 create');
    expect((await virsh(kvm, ['pool-list', '--all', '--name'])).trim()).toBe('infra-far');
    expect(await virsh(kvm, ['vol-list', '--pool', 'infra-far'])).toMatch(/far-base-[0-9a-f]{12}/);
    expect((await virsh(kvm, ['net-list', '--all', '--name'])).trim()).toBe('infra-far');
    const again = await up();
    expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
    expect(again.stdout).not.toMatch(/\b(create|update|replace|delete)\b/);
  }, 900_000);

  it('a libvirt host presenting another key is refused with both fingerprints, and nothing is changed there', async () => {
    const pinned = await sshd.fingerprint();
    await sshd.newHostKey();
    const presented = await sshd.fingerprint();
    // A change the stack asks for, which must not be made through an unverified host.
    await writeKvmStack(fx.stackFile, kvm, image, [], { user: 'root', pool: fx.pool, stack: 'far', site: 'far', uri: sshd.uri, subnet: `10.219.${kvm.slot}.0/24` });
    const r = await up();
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(21);
    const lines = errorLines(`${r.stdout}\n${r.stderr}`).join('\n');
    expect(lines).toContain(`host key of libvirt-far changed: expected ${pinned}`);
    expect(lines).toContain(`the host presented ${presented}; refused`);
    expect(await virsh(kvm, ['net-dumpxml', 'infra-far'])).toContain(`${kvm.vmSubnetPrefix}.1`);
  }, 600_000);

  it('with its key back, destroy removes pool, volume and network through ssh', async () => {
    await sshd.firstHostKey();
    const d = await runInfra(['destroy', '-f', fx.stackFile], fx.env);
    expect(d.code, `${d.stdout}\n${d.stderr}`).toBe(0);
    expect((await virsh(kvm, ['pool-list', '--all', '--name'])).trim()).toBe('');
    expect((await virsh(kvm, ['net-list', '--all', '--name'])).trim()).toBe('');
  }, 600_000);
});
