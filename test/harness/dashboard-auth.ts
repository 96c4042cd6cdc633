import { createHash, randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

/** The users of a dashboard test: a writer with a bearer token, a reader with a password (basic auth). */
export interface DashboardUsers {
  readonly writer: { readonly name: string; readonly token: string };
  readonly reader: { readonly name: string; readonly password: string };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Writes the `--ui-auth-file` (0600, digests only) and returns the secrets to sign in with. */
export async function writeDashboardAuth(file: string): Promise<DashboardUsers> {
  const users: DashboardUsers = {
    writer: { name: 'alice', token: randomBytes(24).toString('hex') },
    reader: { name: 'bob', password: randomBytes(12).toString('hex') },
  };
  const text = stringify({
    users: [
      { name: users.writer.name, role: 'write', tokenSha256: sha256(users.writer.token) },
      { name: users.reader.name, role: 'read', passwordSha256: sha256(users.reader.password) },
    ],
  });
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
  return users;
}

export const bearer = (users: DashboardUsers): Record<string, string> => ({ Authorization: `Bearer ${users.writer.token}` });
export const basic = (users: DashboardUsers): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${users.reader.name}:${users.reader.password}`).toString('base64')}` });
