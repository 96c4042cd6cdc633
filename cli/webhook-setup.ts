import { shellQuote } from '../reconciler/webhooks/post-receive.ts';

/** A word as a user would type it: quoted only when the shell needs it. */
function word(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : shellQuote(s);
}

/**
 * What `infra init` prints after the GitOps questions: the exact webhook URL of the source on
 * infra serve and, per provider, the fields to fill in its webhook form (or the
 * `infra hook install` line). Pure: answers in, lines out. The secret itself is never printed,
 * only the file that holds it.
 */

export const WEBHOOK_PROVIDERS = ['github', 'gitlab', 'gitea', 'bitbucket', 'generic', 'none'] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

export const PROVIDER_TITLES: Readonly<Record<WebhookProvider, string>> = {
  github: 'GitHub',
  gitlab: 'GitLab',
  gitea: 'Gitea / Forgejo',
  bitbucket: 'Bitbucket Server / Data Center',
  generic: "a self-hosted bare repository (infra's post-receive hook, signed generic webhook)",
  none: 'none: infra serve polls (or, for a local repository, the post-receive hook without a server)',
};

/** infra serve's address when nothing else is said (its default --listen). */
export const DEFAULT_SERVE_URL = 'http://127.0.0.1:7979';

export interface WebhookSetupInput {
  readonly provider: WebhookProvider;
  /** infra serve as the Git server reaches it: http(s)://host:port. */
  readonly serveUrl: string;
  readonly source: string;
  readonly repo: string;
  readonly branch: string;
  /** As written in the stack (relative to it) and as an absolute path, for commands. */
  readonly secretFile?: string;
  readonly secretFileAbsolute?: string;
  readonly stackFile: string;
  readonly stackFileAbsolute: string;
}

export interface WebhookSetup {
  readonly provider: WebhookProvider;
  readonly url?: string;
  readonly lines: readonly string[];
}

export function webhookUrl(serveUrl: string, provider: Exclude<WebhookProvider, 'none'>, source: string): string {
  return `${serveUrl.replace(/\/+$/, '')}/webhooks/${provider}/${encodeURIComponent(source)}`;
}

export function webhookSetup(i: WebhookSetupInput): WebhookSetup {
  const serve = `infra serve -f ${word(i.stackFile)}`;
  const isLocal = !/^[a-z][a-z0-9+.-]*:\/\//i.test(i.repo) && !/^[^/]+@[^/]+:/.test(i.repo);
  if (i.provider === 'none') {
    const lines = [`no webhook: ${serve} polls ${i.repo} (branch ${i.branch}) every minute`];
    if (isLocal) lines.push(`or, with no server at all, a push reconciles at once after: infra hook install ${word(i.repo)} -f ${word(i.stackFileAbsolute)}`);
    return { provider: 'none', lines };
  }
  const url = webhookUrl(i.serveUrl, i.provider, i.source);
  const secret = `the content of ${i.secretFile} (show it with: cat ${word(i.secretFile ?? '')})`;
  const start = `start the receiver where the Git server reaches ${new URL(i.serveUrl).origin}: ${serve} --listen <host:port>${i.serveUrl.startsWith('https:') ? ' --tls-cert <pem> --tls-key <pem>' : ''}`;
  const steps: Record<Exclude<WebhookProvider, 'none'>, string[]> = {
    github: [
      'GitHub: repository → Settings → Webhooks → Add webhook',
      `  Payload URL:  ${url}`,
      '  Content type: application/json',
      `  Secret:       ${secret}`,
      '  Which events: Just the push event',
    ],
    gitlab: [
      'GitLab: project → Settings → Webhooks → Add new webhook',
      `  URL:          ${url}`,
      `  Secret token: ${secret}`,
      `  Trigger:      Push events (all branches, or the branch ${i.branch})`,
    ],
    gitea: [
      'Gitea / Forgejo: repository → Settings → Webhooks → Add webhook → Gitea (Forgejo)',
      `  Target URL:        ${url}`,
      '  HTTP method:       POST',
      '  POST content type: application/json',
      `  Secret:            ${secret}`,
      `  Trigger on:        Push events (branch filter: ${i.branch})`,
    ],
    bitbucket: [
      'Bitbucket Server / Data Center: repository → Repository settings → Webhooks → Create webhook',
      '  Name:   infra',
      `  URL:    ${url}`,
      `  Secret: ${secret}`,
      '  Events: Repository → Push',
    ],
    generic: [
      'on the Git server, in the bare repository:',
      `  infra hook install ${word(i.repo)} --server ${word(i.serveUrl)} --source ${word(i.source)} --secret-file ${word(i.secretFileAbsolute ?? i.secretFile ?? '')}`,
      `  (it POSTs each push to ${url}, signed with the secret)`,
    ],
  };
  return { provider: i.provider, url, lines: [`webhook URL: ${url}`, ...steps[i.provider], start] };
}
