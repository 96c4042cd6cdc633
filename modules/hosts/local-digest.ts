import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** Local file digests by identity (path, inode, size, mtime): one binary sent to many hosts is hashed once. */
const fileDigests = new Map<string, Promise<string>>();

/** SHA-256 (hex) of a buffer or a local file. */
export async function sha256Of(source: string | Buffer): Promise<string> {
  if (Buffer.isBuffer(source)) return createHash('sha256').update(source).digest('hex');
  const st = await stat(source);
  const key = `${source}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
  let digest = fileDigests.get(key);
  if (!digest) {
    digest = (async () => {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
      return hash.digest('hex');
    })();
    digest.catch(() => fileDigests.delete(key));
    fileDigests.set(key, digest);
  }
  return digest;
}
