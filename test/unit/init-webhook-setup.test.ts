import { describe, expect, it } from 'vitest';
import { webhookSetup, webhookUrl, type WebhookSetupInput } from '../../cli/webhook-setup.ts';
import { draftStack, explainDefaults, renderDraft, sourceNameOf, type DraftAnswers } from '../../stacks/draft.ts';

const base: WebhookSetupInput = {
  provider: 'github',
  serveUrl: 'https://infra.example.com:8443',
  source: 'fleet',
  repo: 'git@github.com:acme/fleet.git',
  branch: 'prod',
  secretFile: 'webhook-fleet.secret',
  secretFileAbsolute: '/etc/infra/webhook-fleet.secret',
  stackFile: 'stack.yaml',
  stackFileAbsolute: '/etc/infra/stack.yaml',
};

describe('infra init: webhook setup per provider', () => {
  it('prints the exact URL and the fields of each provider form, never a secret', () => {
    expect(webhookUrl('http://h:7979/', 'gitea', 'a')).toBe('http://h:7979/webhooks/gitea/a');
    const github = webhookSetup(base);
    expect(github.url).toBe('https://infra.example.com:8443/webhooks/github/fleet');
    expect(github.lines).toEqual(expect.arrayContaining([
      '  Payload URL:  https://infra.example.com:8443/webhooks/github/fleet',
      '  Content type: application/json',
      '  Secret:       the content of webhook-fleet.secret (show it with: cat webhook-fleet.secret)',
      '  Which events: Just the push event',
    ]));
    expect(webhookSetup({ ...base, provider: 'gitlab' }).lines).toEqual(expect.arrayContaining([
      '  URL:          https://infra.example.com:8443/webhooks/gitlab/fleet',
      expect.stringMatching(/^ {2}Secret token: the content of webhook-fleet\.secret/),
      '  Trigger:      Push events (all branches, or the branch prod)',
    ]));
    expect(webhookSetup({ ...base, provider: 'gitea' }).lines).toEqual(expect.arrayContaining([
      '  Target URL:        https://infra.example.com:8443/webhooks/gitea/fleet',
      '  HTTP method:       POST',
      '  POST content type: application/json',
    ]));
    expect(webhookSetup({ ...base, provider: 'bitbucket' }).lines).toEqual(expect.arrayContaining([
      '  URL:    https://infra.example.com:8443/webhooks/bitbucket/fleet',
      '  Events: Repository → Push',
    ]));
  });

  it('generic: the infra hook install line for the Git server; none: polling, and the hook for a local repository', () => {
    const generic = webhookSetup({ ...base, provider: 'generic', repo: "/srv/git/it's fleet.git" });
    expect(generic.lines).toContain(`  infra hook install '/srv/git/it'\\''s fleet.git' --server https://infra.example.com:8443 --source fleet --secret-file /etc/infra/webhook-fleet.secret`);
    const none = webhookSetup({ ...base, provider: 'none', repo: '/srv/git/fleet.git' });
    expect(none.url).toBeUndefined();
    expect(none.lines).toEqual([
      'no webhook: infra serve -f stack.yaml polls /srv/git/fleet.git (branch prod) every minute',
      'or, with no server at all, a push reconciles at once after: infra hook install /srv/git/fleet.git -f /etc/infra/stack.yaml',
    ]);
    expect(webhookSetup({ ...base, provider: 'none' }).lines).toHaveLength(1);
  });
});

describe('infra init: the GitOps repository in the draft', () => {
  it('names the source after the repository', () => {
    expect(['git@github.com:acme/fleet.git', 'https://gitlab.example.com/ops/Prod_Apps.git/', '/srv/git/fleet', '.', './My Repo'].map(sourceNameOf)).toEqual(['fleet', 'prod-apps', 'fleet', 'gitops', 'my-repo']);
  });

  it('one source with its branch and webhook secret file, one app over every cluster, and no example apps', () => {
    const a: DraftAnswers = { name: 'g', site: 'local', edge: false, unreliableNetwork: false, hosts: [], arm: false, clusters: ['a', 'b'], nodes: 1, overrides: {}, withExampleApps: false, gitops: { source: 'fleet', url: 'git@github.com:acme/fleet.git', branch: 'prod', path: 'deploy', secretFile: 'webhook-fleet.secret' } };
    const { stack } = explainDefaults('/etc/infra/s.yaml', renderDraft(draftStack(a)));
    expect(stack.gitops.sources).toEqual([{ name: 'fleet', url: 'git@github.com:acme/fleet.git', ref: { branch: 'prod' }, webhook: { secretFile: '/etc/infra/webhook-fleet.secret' } }]);
    expect(stack.gitops.apps.map((x) => [x.name, x.source, x.path, x.targets.clusters])).toEqual([['fleet', 'fleet', 'deploy', ['a', 'b']]]);
  });
});
