import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Reads the Linux process table (/proc). Used to tell a live component from a stale pid file
 * (pids are reused, so a pid file also records the process start time) and to find strays.
 */

/** True if `pid` runs and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

interface ProcStat {
  readonly state: string;
  readonly startTime: string;
  readonly pgid: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgid: Number(fields[2]), startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** Start time of a process in clock ticks since boot; with the pid it names one process for good. */
export function startTimeOf(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

/** True if the process `pid` that started at `startTime` is still the one running. */
export function isSameProcess(pid: number, startTime: string): boolean {
  return isAlive(pid) && startTimeOf(pid) === startTime;
}

/**
 * Pids of live processes running one of `executables` (by file name) whose command line
 * mentions `needle` (a cluster's directory). Both must match, so a user's `tail -f` of a
 * log file in that directory is never taken for a stray.
 */
export function processesMentioning(needle: string, executables: ReadonlySet<string>): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const exe = basename(readlinkSync(`/proc/${pid}/exe`)).replace(/ \(deleted\)$/, '');
      if (!executables.has(exe)) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(needle) && isAlive(pid)) found.push(pid);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/**
 * When a process started (wall clock), from its start time in clock ticks after boot. Lets a
 * record that names a pid and a time (a Pulumi lock file) tell a reused pid from its writer.
 */
export function startedAt(pid: number): Date | undefined {
  const ticks = Number(startTimeOf(pid));
  const boot = bootTimeSeconds();
  if (!Number.isFinite(ticks) || boot === undefined) return undefined;
  return new Date((boot + ticks / CLOCK_TICKS_PER_SECOND) * 1000);
}

/** USER_HZ: 100 on every Linux architecture infra runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

function bootTimeSeconds(): number | undefined {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
