import type { GoRecipe } from './versions.ts';

/**
 * Pure text work for building a Go main package through a wrapper module: reading the
 * target module's go.mod and writing the wrapper's. Kept apart from running `go`.
 */

/** The `go` directive of a go.mod, e.g. `1.24.0`. */
export function goDirective(goMod: string): string | undefined {
  return /^go\s+(\S+)\s*$/m.exec(goMod)?.[1];
}

/**
 * Module paths that a go.mod replaces with a local `./staging/...` directory. k8s.io/kubernetes
 * does this for every staging module, which is why `go install` of its commands fails.
 */
export function stagingReplaces(goMod: string): string[] {
  const found = new Set<string>();
  for (const m of goMod.matchAll(/^[ \t]*(?:replace[ \t]+)?([^\s(]+)(?:[ \t]+v\S+)?[ \t]+=>[ \t]+\.\/staging\/\S+[ \t]*$/gm)) {
    if (m[1]) found.add(m[1]);
  }
  return [...found].sort();
}

export function wrapperGoMod(recipe: GoRecipe, targetGoMod: string): string {
  const go = goDirective(targetGoMod) ?? '1.24.0';
  const lines = [
    'module infra.local/binary-build',
    '',
    `go ${go}`,
    '',
    `require ${recipe.module} ${recipe.moduleVersion}`,
    ...(recipe.extraRequires ?? []).map(([m, v]) => `require ${m} ${v}`),
  ];
  for (const [from, to] of recipe.replaces ?? []) lines.push(`replace ${from} => ${to}`);
  if (recipe.stagingReplaceVersion) {
    const replaced = stagingReplaces(targetGoMod);
    lines.push('', 'replace (');
    for (const mod of replaced) lines.push(`\t${mod} => ${mod} ${recipe.stagingReplaceVersion}`);
    lines.push(')');
  }
  return `${lines.join('\n')}\n`;
}

/** A file that imports the main package so `go mod tidy` keeps its dependencies. */
export function wrapperToolsFile(recipe: GoRecipe): string {
  return `//go:build tools\n\npackage tools\n\nimport _ "${recipe.mainPackage}"\n`;
}

export function goBuildArgs(recipe: GoRecipe, output: string): string[] {
  const args = ['build', '-trimpath', '-o', output];
  if (recipe.tags.length > 0) args.push('-tags', recipe.tags.join(','));
  args.push('-ldflags', ['-s', '-w', ...recipe.ldflags].join(' '));
  args.push(recipe.mainPackage);
  return args;
}
