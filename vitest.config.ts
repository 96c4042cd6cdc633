import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // The SSH layer against real sshd processes on loopback (test/harness/sshd-fixture.ts).
        test: {
          name: 'ssh',
          include: ['test/ssh/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/sshd-global-setup.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/global-setup.ts'],
          setupFiles: ['test/harness/app-records-reset.ts'],
          // Tests share the clusters the global setup starts; files run one at a time so
          // one that kills an apiserver cannot surprise another.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          // The dashboard (dashboard/, built first) in Debian's headless Chromium against a real `infra serve --ui`
          // on the real test clusters (test/harness/chromium.ts).
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/dashboard-build-setup.ts', 'test/harness/global-setup.ts'],
          setupFiles: ['test/harness/app-records-reset.ts'],
          // Shares the integration project's clusters (global-setup.ts). Without file parallelism (and no groupOrder) vitest
          // runs its files in the same one-at-a-time group as the integration files, some of which kill apiservers.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          // Real Linux hosts reachable only over SSH (systemd-nspawn, test/harness/test-hosts.ts); needs root.
          name: 'hosts',
          include: ['test/hosts/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/test-hosts-global-setup.ts'],
          // Each file's hosts get their own subnet, but two cores cannot boot many at once.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          // VMs through a private libvirtd + QEMU (test/harness/kvm-harness.ts); needs root.
          name: 'kvm',
          include: ['test/kvm/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/harness/kvm-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
