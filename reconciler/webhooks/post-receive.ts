/**
 * The text of the post-receive hook `infra hook install` writes. Pure: what to run in, a
 * script out. The hook calls the previous hook first (moved aside, same stdin, its exit code
 * kept), then either notifies `infra serve` (generic endpoint, HMAC-signed by
 * `infra hook notify`) or starts `infra hook reconcile` in the background so `git push` returns.
 * Every path is shell-quoted; the secret itself is never in the script, only its file.
 */

/** The line that marks a hook as infra's (install rewrites it, uninstall removes it). */
export const HOOK_MARKER = '# infra-hook: post-receive v1';
/** Where an existing hook is moved so infra's can call it first. */
export const CHAINED_NAME = 'post-receive.infra-chained';

export interface NotifyMode {
  readonly mode: 'notify';
  readonly server: string;
  readonly source: string;
  readonly secretFile: string;
  /** What the body names as `repository` (the clone URL or path the stack's source uses). */
  readonly repository: string;
}

export interface ReconcileMode {
  readonly mode: 'reconcile';
  readonly stackFile: string;
  /** Where the background reconcile writes its output. */
  readonly logFile: string;
  /** Where runs queue (lock and ticket files): the repository's git dir. */
  readonly stateDir: string;
}

export interface HookPlan {
  /** Absolute path of the Node that runs infra. */
  readonly node: string;
  /** Absolute path of cli/bin/infra.js. */
  readonly infra: string;
  /** Absolute path of the moved-aside previous hook, when there is one. */
  readonly chained?: string;
  /** Environment to pin (e.g. INFRA_HOME as it was at install time), in a stable order. */
  readonly env: Readonly<Record<string, string>>;
  readonly action: NotifyMode | ReconcileMode;
}

/** POSIX single-quoting: safe for any byte string but NUL. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function postReceiveScript(p: HookPlan): string {
  const q = shellQuote;
  const infra = `${q(p.node)} ${q(p.infra)}`;
  const lines = [
    '#!/bin/sh',
    HOOK_MARKER,
    '# Written by `infra hook install`; `infra hook uninstall` removes it (and restores the hook it chained).',
    '# A post-receive hook cannot fail a push: whatever happens here, the refs are already updated.',
    'set -u',
    // Git runs hooks with GIT_DIR and friends set; infra runs git in other repositories (its cache).
    'unset $(git rev-parse --local-env-vars 2>/dev/null) 2>/dev/null',
    ...Object.keys(p.env)
      .sort()
      .map((k) => `${k}=${q(p.env[k] ?? '')}; export ${k}`),
    'refs=$(cat)',
    'status=0',
  ];
  if (p.chained) {
    lines.push(`if [ -x ${q(p.chained)} ]; then`, `  printf '%s\\n' "$refs" | ${q(p.chained)} || status=$?`, 'fi');
  }
  const a = p.action;
  if (a.mode === 'notify') {
    lines.push(
      `printf '%s\\n' "$refs" | ${infra} hook notify --server ${q(a.server)} --source ${q(a.source)} --secret-file ${q(a.secretFile)} --repository ${q(a.repository)} || true`,
    );
  } else {
    lines.push(
      `echo "infra: reconciling in the background (log: "${q(a.logFile)}")" >&2`,
      `nohup ${infra} hook reconcile -f ${q(a.stackFile)} --state-dir ${q(a.stateDir)} </dev/null >>${q(a.logFile)} 2>&1 &`,
    );
  }
  lines.push('exit $status', '');
  return lines.join('\n');
}

export function isInfraHook(text: string): boolean {
  return text.split('\n', 3).includes(HOOK_MARKER);
}
