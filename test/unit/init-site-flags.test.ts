import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addSiteFlags, checkSiteFlags, siteFlagAnswers, siteFlagsGiven } from '../../cli/init-site-flags.ts';
import { UsageError } from '../../stacks/errors.ts';

/** One table of flags answers the questions of the first site and of the `--edge-hosts` site alike. */

function parsed(...argv: string[]): Record<string, unknown> {
  const command = new Command('init').exitOverride();
  addSiteFlags(command, '');
  addSiteFlags(command, 'edge-');
  command.parse(argv, { from: 'user' });
  return command.opts();
}

describe('the site flags of infra init', () => {
  it('give each site the answers its prompts would, by question name', () => {
    const o = parsed('--untrusted', '--memory', '16', '--disks', '/dev/vdb, /dev/vdc', '--edge-untrusted', '--edge-vm-isolation', '--edge-l7-policies', '--edge-shared-storage', '--edge-disks', '/dev/sdb', '--edge-memory', '4', '--edge-arm', '--edge-unreliable-network');
    expect(siteFlagAnswers(o, '')).toEqual({ untrusted: true, hostMemoryGiB: '16', disks: '/dev/vdb,/dev/vdc' });
    expect(siteFlagAnswers(o, 'edge-')).toEqual({ unreliableNetwork: true, hostMemoryGiB: '4', arm: true, untrusted: true, vmIsolation: true, l7Policies: true, sharedStorage: true, disks: '/dev/sdb' });
    expect(siteFlagsGiven(o, 'edge-')).toEqual(['--edge-unreliable-network', '--edge-memory', '--edge-arm', '--edge-untrusted', '--edge-vm-isolation', '--edge-l7-policies', '--edge-shared-storage', '--edge-disks']);
  });

  it('answer nothing the command line left open (the wizard asks it; --yes takes the default)', () => {
    const o = parsed('--edge-untrusted');
    expect(siteFlagAnswers(o, '')).toEqual({});
    expect(siteFlagsGiven(o, '')).toEqual([]);
  });

  it('refuse a value the prompt would refuse, naming the flag', () => {
    expect(() => siteFlagAnswers(parsed('--edge-memory', '0'), 'edge-')).toThrow('--edge-memory: expected a whole number from 1 to 4096, got "0"');
    expect(() => siteFlagAnswers(parsed('--edge-disks', 'vdb'), 'edge-')).toThrow(UsageError);
    expect(() => siteFlagAnswers(parsed('--disks', '/dev/vdb,sdc'), '')).toThrow('--disks: "sdc" is not a device path (e.g. /dev/vdb)');
  });

  it('refuse answers to questions the site does not ask', () => {
    expect(() => checkSiteFlags(parsed('--untrusted', '--memory', '8'), '', 'local')).toThrow('--memory and --untrusted go with a kvm or ssh site');
    expect(() => checkSiteFlags(parsed('--arm'), '', 'kvm')).toThrow('--arm goes with an ssh site');
    expect(() => checkSiteFlags(parsed('--arm', '--untrusted'), '', 'ssh')).not.toThrow();
    // The first site's kind says nothing about the edge site's flags.
    expect(() => checkSiteFlags(parsed('--edge-arm'), '', 'local')).not.toThrow();
  });
});
