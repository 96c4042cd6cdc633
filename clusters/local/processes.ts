import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ComponentName, ComponentSpec } from './control-plane.ts';
import type { ClusterLayout } from './layout.ts';
import { BINARY_NAMES } from '../tools/versions.ts';
import { isAlive, isSameProcess, processesMentioning, startTimeOf } from '../host/process-table.ts';

/**
 * Control-plane processes as daemons: each runs in its own session and process group
 * (so a signal reaches all it spawned), logs to a file, and is recorded in a pid file
 * with its start time (so a reused pid is never mistaken for it).
 */

export interface PidRecord {
  readonly component: ComponentName;
  readonly pid: number;
  readonly startTime: string;
}

export function pidFile(layout: ClusterLayout, component: ComponentName): string {
  return join(layout.runDir, `${component}.pid`);
}

export function logFile(layout: ClusterLayout, component: ComponentName): string {
  return join(layout.logDir, `${component}.log`);
}

/** The live process recorded for `component`, or undefined (no pid file, stale, or dead). */
export function runningProcess(layout: ClusterLayout, component: ComponentName): PidRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(pidFile(layout, component), 'utf8')) as PidRecord;
    return isSameProcess(record.pid, record.startTime) ? record : undefined;
  } catch {
    return undefined;
  }
}

export async function startProcess(layout: ClusterLayout, spec: ComponentSpec, binaryPath: string): Promise<PidRecord> {
  await mkdir(layout.runDir, { recursive: true, mode: 0o700 });
  await mkdir(layout.logDir, { recursive: true, mode: 0o700 });
  const log = openSync(logFile(layout, spec.name), 'a', 0o600);
  let pid: number | undefined;
  try {
    const child = spawn(binaryPath, spec.args, { detached: true, stdio: ['ignore', log, log] });
    pid = child.pid;
    child.on('error', () => {});
    child.unref();
  } finally {
    closeSync(log);
  }
  if (pid === undefined) throw new Error(`could not start ${spec.name} (${binaryPath})`);
  const record: PidRecord = { component: spec.name, pid, startTime: startTimeOf(pid) ?? '' };
  const tmp = `${pidFile(layout, spec.name)}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  await rename(tmp, pidFile(layout, spec.name));
  return record;
}

/** Stops a process group: SIGTERM, then SIGKILL after `graceMs`. Waits until it is gone. */
export async function stopProcessGroup(pid: number, graceMs = 10_000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(50);
  if (isAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    while (isAlive(pid)) await delay(20);
  }
}

export async function stopComponent(layout: ClusterLayout, component: ComponentName, graceMs?: number): Promise<boolean> {
  const record = runningProcess(layout, component);
  if (record) await stopProcessGroup(record.pid, graceMs);
  await rm(pidFile(layout, component), { force: true });
  return record !== undefined;
}

/** Sends SIGKILL to a component's process group: a crash, for tests and for failover drills. */
export async function killComponent(layout: ClusterLayout, component: ComponentName): Promise<void> {
  const record = runningProcess(layout, component);
  if (!record) return;
  signalGroup(record.pid, 'SIGKILL');
  while (isAlive(record.pid)) await delay(20);
}

/**
 * Kills processes that mention this cluster's directory but are not in `keep`: strays left
 * when infra was killed between starting a process and recording it. Returns their pids.
 */
export async function killStrays(layout: ClusterLayout, keep: ReadonlySet<number>): Promise<number[]> {
  const strays = processesMentioning(`${layout.dir}/`, new Set(BINARY_NAMES)).filter((pid) => !keep.has(pid));
  await Promise.all(strays.map((pid) => stopProcessGroup(pid, 5_000)));
  return strays;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}
