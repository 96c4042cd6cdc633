/**
 * The import directions of docs/ARCHITECTURE.md, checked on every test run:
 * stacks → nothing; clusters → stacks; reconciler → clusters, stacks;
 * modules → reconciler, clusters, stacks; cli → everything; test → everything.
 * dashboard/ (browser code) → nothing of this project; only test imports it. Nothing imports cli.
 */
const layer = (from, allowed) => ({
  name: `${from}-imports`,
  comment: `${from}/ may import only ${allowed.length ? allowed.join(', ') : 'nothing of this project'} (docs/ARCHITECTURE.md)`,
  severity: 'error',
  from: { path: `^${from}/` },
  to: {
    path: '^(dashboard|stacks|clusters|reconciler|modules|cli|test)/',
    pathNot: [`^${from}/`, ...allowed.map((a) => `^${a}/`)],
  },
});

module.exports = {
  forbidden: [
    layer('dashboard', []),
    layer('stacks', []),
    layer('clusters', ['stacks']),
    layer('reconciler', ['clusters', 'stacks']),
    layer('modules', ['reconciler', 'clusters', 'stacks']),
    layer('cli', ['modules', 'reconciler', 'clusters', 'stacks']),
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'circular imports make start-up order and testing fragile',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dashboard/dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
