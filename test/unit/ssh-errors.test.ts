import { afterEach, describe, expect, it, vi } from 'vitest';
import { exitCodeFor } from '../../cli/main.ts';
import { HostCommandError, HostKeyMismatchError, HostKeyUnknownError, HostUnreachableError, SudoRequiredError } from '../../modules/hosts/errors.ts';

afterEach(() => vi.restoreAllMocks());

describe('SSH errors on the command line', () => {
  it('map to 20 unreachable, 21 not trusted, 22 a command failed; one line says what, where, what to do', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((l) => {
      lines.push(String(l));
      return true;
    });
    const idle = new AbortController().signal;
    expect(exitCodeFor(new HostUnreachableError('h1', 'upload etcd', 'connect ECONNREFUSED'), idle)).toBe(20);
    expect(exitCodeFor(new HostKeyMismatchError('h1', { expected: 'SHA256:old', actual: 'SHA256:new', source: 'kh:3' }), idle)).toBe(21);
    expect(exitCodeFor(new HostKeyUnknownError('h1', 'SHA256:new', '[10.0.0.1]:2222', ['/root/.ssh/known_hosts']), idle)).toBe(21);
    expect(exitCodeFor(new HostCommandError({ host: 'h1', step: 'start etcd', command: 'systemctl start etcd', code: 1, stderrTail: ['Job failed'] }), idle)).toBe(22);
    expect(exitCodeFor(new SudoRequiredError({ host: 'h1', user: 'bob', step: 'install', command: 'install -m 0755 a b', stderrTail: [] }), idle)).toBe(22);
    expect(lines).toEqual([
      'error: host h1: cannot reach h1 during "upload etcd": connect ECONNREFUSED — check that the host is up, its address and port (ssh config HostName/Port) and any ProxyJump host\n',
      'error: host h1: host key of h1 changed: expected SHA256:old (kh:3), the host presented SHA256:new; refused — if the host was reinstalled on purpose, remove its old key from kh:3 (ssh-keygen -R for known_hosts) and run again; otherwise someone may be intercepting the connection\n',
      "error: host h1: host key of h1 (SHA256:new) is not known — check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then add it: ssh-keyscan -p 2222 10.0.0.1 >> /root/.ssh/known_hosts; or allow pinning the key on first use into the stack's state\n",
      'error: host h1: step "start etcd": `systemctl start etcd` exited 1: Job failed — fix the cause on the host (see the stderr lines) and run again; finished steps are skipped\n',
      'error: host h1: step "install" needs root, but bob cannot sudo without a password (sudo -n) to run `install -m 0755 a b` — give bob passwordless sudo on that host (e.g. "bob ALL=(ALL) NOPASSWD:ALL" in /etc/sudoers.d/), or connect as root\n',
    ]);
  });
});
