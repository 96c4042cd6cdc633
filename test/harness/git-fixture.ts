import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

/** A real Git repository the tests commit to, as a user pushing manifests would. */
export class GitFixture {
  readonly dir: string;
  private readonly git: SimpleGit;

  private constructor(dir: string) {
    this.dir = dir;
    this.git = simpleGit({ baseDir: dir });
  }

  static async create(): Promise<GitFixture> {
    const dir = await mkdtemp(join(tmpdir(), 'infra-repo-'));
    const fixture = new GitFixture(dir);
    await fixture.git.init(['-b', 'main']);
    await fixture.git.addConfig('user.email', 'test@infra.dev').addConfig('user.name', 'infra tests').addConfig('commit.gpgsign', 'false');
    return fixture;
  }

  /** Writes (or, for null, deletes) files and commits; returns the commit hash. */
  async commit(files: Readonly<Record<string, string | null>>, message = 'change'): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.dir, path);
      if (content === null) await rm(full, { force: true, recursive: true });
      else {
        await mkdir(dirname(full), { recursive: true });
        await writeFile(full, content);
      }
    }
    await this.git.add(['-A']);
    await this.git.commit(message, { '--allow-empty': null });
    return (await this.git.revparse(['HEAD'])).trim();
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
