/**
 * VMs on a kvm site, `infra up` against the same boot done by hand, in the same run, on the KVM
 * test harness (a private libvirtd in its own network namespace; QEMU in software emulation, TCG):
 *
 *   - up N: `infra up -f stack --skip-apps` of N VMs (1 vCPU, 1 GiB, the harness's Debian image,
 *     direct kernel boot) until it returns — every VM answering SSH and its host key pinned —
 *     from an empty libvirt (pool, base volume upload, disks, seeds, network, domains); then
 *     `infra destroy` (not timed).
 *   - by hand N: the same image and VM made beforehand without infra (not timed): a qcow2 overlay
 *     on the image (`qemu-img create -b`), a cloud-init seed ISO (seed.ts, xorriso), a NAT network
 *     with a static lease per VM (xml.ts) and the domain defined from xml.ts's XML; timed: only
 *     `virsh start` of the N domains together until each answers an SSH banner on port 22; then
 *     destroyed, undefined and their files removed.
 *
 * For N = 1 and N = 3, in alternating order (each round swaps which goes first), with the load
 * average at the start and the end: TCG is CPU-bound, so the seconds follow the machine's load.
 * Needs root. `node test/bench/kvm-bench.ts [--rounds N]` prints JSON and writes
 * bench-results/<date>.json; `npm run bench kvm` does the same inside run.ts.
 */
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tail } from '../../clusters/host/command.ts';
import { imageFormat, waitForSsh } from '../../modules/kvm/ops.ts';
import { seedFiles, writeSeedIso } from '../../modules/kvm/seed.ts';
import { BOOT_TIMEOUT_SECONDS, DEFAULT_MEMORY_MIB, VM_DISK_GIB } from '../../modules/kvm/stack-kvm.ts';
import { libvirt, type Libvirt } from '../../modules/kvm/virsh.ts';
import { domainXml, macFor, networkXml } from '../../modules/kvm/xml.ts';
import { runInfra } from '../harness/cli.ts';
import { startKvm, stopKvm, type KvmRun } from '../harness/kvm-harness.ts';
import { ensureKvmImage, type KvmImage } from '../harness/kvm-image.ts';
import { kvmStack } from '../harness/kvm-stack.ts';
import { must } from '../harness/test-hosts-exec.ts';
import { machine, writeBenchResults } from './results.ts';

export interface KvmBenchOptions {
  /** Rounds of the four measurements (default 1); figures are the medians over rounds. */
  readonly rounds: number;
  readonly signal?: AbortSignal;
  readonly progress?: (line: string) => void;
}

type Step = 'up1' | 'byHand1' | 'up3' | 'byHand3';

export interface KvmRound {
  readonly order: readonly Step[];
  readonly seconds: Record<Step, number>;
  /** By hand: each VM's seconds from the common `virsh start` to its SSH banner. */
  readonly byHand3PerVmSeconds: readonly number[];
  /** 1-minute load average when each step started. */
  readonly load1AtStart: Record<Step, number>;
}

export interface KvmFigures {
  readonly machine: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly accel: 'tcg';
  readonly vm: { readonly vcpus: 1; readonly memoryMiB: number; readonly diskGiB: number };
  readonly image: string;
  readonly loadAverageStart: readonly number[];
  readonly loadAverageEnd: readonly number[];
  readonly rounds: readonly KvmRound[];
  readonly up1Seconds: number;
  readonly byHand1Seconds: number;
  readonly ratio1: number;
  readonly up3Seconds: number;
  readonly byHand3Seconds: number;
  readonly ratio3: number;
}

/** `infra up` (it includes the destroy that follows, not timed): at most this long. */
const UP_TIMEOUT_MS = 20 * 60_000;
const DESTROY_TIMEOUT_MS = 10 * 60_000;
const USER = 'ops';

const seconds = (since: number) => Number(((Date.now() - since) / 1000).toFixed(1));
const r2 = (n: number) => Number(n.toFixed(2));
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : Number((((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2).toFixed(1));
};
const load = () => loadavg().map((l) => r2(l));

export async function benchKvm(options: KvmBenchOptions): Promise<KvmFigures> {
  const signal = options.signal ?? new AbortController().signal;
  const progress = options.progress ?? (() => undefined);
  const loadAverageStart = load();
  const image = await ensureKvmImage({ progress, signal });
  const kvm = await startKvm({ signal });
  try {
    progress(`kvm slot ${kvm.slot}, VMs on ${kvm.vmSubnetPrefix}.0/24; load average ${loadAverageStart.join(' ')}`);
    const rounds: KvmRound[] = [];
    for (let r = 0; r < options.rounds; r++) {
      // Alternating: each pair is measured back to back, and which goes first swaps every round.
      const order: Step[] = r % 2 === 0 ? ['up1', 'byHand1', 'byHand3', 'up3'] : ['byHand1', 'up1', 'up3', 'byHand3'];
      const secs = {} as Record<Step, number>;
      const load1 = {} as Record<Step, number>;
      let perVm: number[] = [];
      for (const step of order) {
        load1[step] = load()[0] ?? 0;
        const n = step.endsWith('3') ? 3 : 1;
        if (step.startsWith('up')) {
          secs[step] = await timedUp(kvm, image, n, signal);
        } else {
          const hand = await timedByHand(kvm, image, n, signal);
          secs[step] = hand.seconds;
          if (n === 3) perVm = hand.perVm;
        }
        progress(`round ${r + 1}: ${step} ${secs[step]} s (load ${load1[step]} at its start)`);
      }
      rounds.push({ order, seconds: secs, byHand3PerVmSeconds: perVm, load1AtStart: load1 });
    }
    const med = (s: Step) => median(rounds.map((x) => x.seconds[s]));
    const [up1Seconds, byHand1Seconds, up3Seconds, byHand3Seconds] = [med('up1'), med('byHand1'), med('up3'), med('byHand3')];
    return {
      machine: machine(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'cpu',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      accel: 'tcg',
      vm: { vcpus: 1, memoryMiB: DEFAULT_MEMORY_MIB, diskGiB: VM_DISK_GIB },
      image: image.dir,
      loadAverageStart,
      loadAverageEnd: load(),
      rounds,
      up1Seconds,
      byHand1Seconds,
      ratio1: r2(up1Seconds / byHand1Seconds),
      up3Seconds,
      byHand3Seconds,
      ratio3: r2(up3Seconds / byHand3Seconds),
    };
  } finally {
    await stopKvm(kvm);
  }
}

const vmNames = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);

/** `infra up` of n VMs from nothing until it returns (SSH-ready), then `infra destroy`; the seconds of the up. */
async function timedUp(kvm: KvmRun, image: KvmImage, n: number, signal: AbortSignal): Promise<number> {
  const fx = await kvmStack(kvm, image, vmNames('vm', n).map((name) => ({ name })), { user: USER, stack: `bench${n}` });
  try {
    const t0 = Date.now();
    await infra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env, UP_TIMEOUT_MS, signal);
    const s = seconds(t0);
    await infra(['destroy', '-f', fx.stackFile], fx.env, DESTROY_TIMEOUT_MS, signal);
    // The by-hand VMs use the same subnet (the one the harness routes): nothing of the stack may be left.
    const lv = libvirt(kvm.uri);
    const left = [...(await listNames(lv, ['list', '--all', '--name'], signal)), ...(await listNames(lv, ['net-list', '--all', '--name'], signal))];
    if (left.length > 0) throw new Error(`kvm bench: infra destroy left ${left.join(', ')} on slot ${kvm.slot}`);
    return s;
  } finally {
    await rm(fx.dir, { recursive: true, force: true });
  }
}

async function infra(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const what = `infra ${args.join(' ')}`;
  let r;
  try {
    r = await runInfra(args, env, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new Error(`kvm bench: ${what} did not finish within ${timeoutMs / 1000} s (stopped)`, { cause: err });
  }
  if (r.code !== 0) throw new Error(`kvm bench: ${what} failed (exit ${r.code}):\n${tail(r.stdout, 10)}\n${tail(r.stderr, 10)}`);
}

async function listNames(lv: Libvirt, args: readonly string[], signal: AbortSignal): Promise<string[]> {
  return (await lv.run(args, 'kvm bench', { signal })).split('\n').map((l) => l.trim()).filter(Boolean);
}

/**
 * The same VMs without infra: made first (not timed), then `virsh start` of all n together, timed
 * until each answers an SSH banner; everything removed after, also on failure.
 */
async function timedByHand(kvm: KvmRun, image: KvmImage, n: number, signal: AbortSignal): Promise<{ seconds: number; perVm: number[] }> {
  const lv = libvirt(kvm.uri);
  // Ended when this step ends: a VM that failed stops the others' waits too.
  const step = new AbortController();
  const o = { signal: AbortSignal.any([signal, step.signal]) };
  const dir = join(kvm.poolsDir, 'by-hand');
  const network = 'bench-by-hand';
  const vms = vmNames('hand', n).map((name, i) => ({ name, ip: `${kvm.vmSubnetPrefix}.${10 + i}`, mac: macFor(`by-hand/${name}`) }));
  const where = `kvm bench (by hand) on slot ${kvm.slot}`;
  try {
    await mkdir(dir, { recursive: true });
    const key = join(dir, 'id_ed25519');
    await must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kvm-bench', '-f', key], where, o.signal);
    const pub = (await readFile(`${key}.pub`, 'utf8')).trim();
    await lv.withXml('net-define', networkXml({ name: network, cidr: `${kvm.vmSubnetPrefix}.0/24`, dhcpStart: `${kvm.vmSubnetPrefix}.100`, dhcpEnd: `${kvm.vmSubnetPrefix}.199`, leases: vms, forward: 'nat' }), [], where, o);
    await lv.run(['net-start', network], where, o);
    const baseFormat = await imageFormat(image.disk);
    for (const v of vms) {
      const disk = join(dir, `${v.name}.qcow2`);
      await must('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', baseFormat, '-b', image.disk, disk, `${VM_DISK_GIB}G`], where, o.signal);
      const iso = await writeSeedIso(seedFiles({ hostname: v.name, user: USER, sshPublicKey: pub, mac: v.mac, network: { mode: 'dhcp' } }), o.signal);
      const seed = join(dir, `${v.name}-seed.iso`);
      try {
        await copyFile(iso.path, seed);
      } finally {
        await iso.cleanup();
      }
      const xml = domainXml({
        name: v.name,
        owner: `kvm-bench/by-hand/${v.name}`,
        vcpus: 1,
        memoryMiB: DEFAULT_MEMORY_MIB,
        virtType: 'qemu',
        diskPath: disk,
        seedPath: seed,
        network,
        mac: v.mac,
        consoleLog: join(dir, `${v.name}.console.log`),
        kernel: image.kernel,
        initrd: image.initrd,
        cmdline: image.cmdline,
      });
      await lv.withXml('define', xml, [], where, o);
    }
    const t0 = Date.now();
    const perVm = await Promise.all(
      vms.map(async (v) => {
        await lv.run(['start', v.name], where, o);
        await waitForSsh(v.ip, 22, `${where}: ${v.name}`, { timeoutMs: BOOT_TIMEOUT_SECONDS * 1000, signal: o.signal });
        return seconds(t0);
      }),
    );
    return { seconds: seconds(t0), perVm };
  } finally {
    step.abort();
    for (const v of vms) {
      await lv.probe(['destroy', v.name]);
      await lv.probe(['undefine', v.name]);
    }
    await lv.probe(['net-destroy', network]);
    await lv.probe(['net-undefine', network]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Ctrl-C (or SIGTERM) stops the run's commands, and benchKvm still removes the harness (stopKvm). */
export function stopOnSignals(): AbortSignal {
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort(new Error(`kvm bench: stopped by ${sig}`)));
  return stop.signal;
}

export const kvmBenchProgress = (line: string) => process.stderr.write(`[kvm-bench] ${line}\n`);

if (import.meta.main) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds <= 0) {
    process.stderr.write(`kvm bench: --rounds must be a positive whole number, got "${values.rounds}"\n`);
    process.exit(2);
  }
  const started = new Date().toISOString();
  const kvm = await benchKvm({ rounds, signal: stopOnSignals(), progress: kvmBenchProgress });
  const result = { date: started, machine: machine(), node: process.version, kvm };
  const file = await writeBenchResults(started, result);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\nwritten to ${file}\n`);
}
