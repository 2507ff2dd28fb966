/**
 * Files of manifest rows (`bucket,key[,versionId]\n`): rows a worker spilled while the main thread was busy with an
 * earlier data file, or the rows DuckDB wrote for a Parquet data file.
 */
import { promises as fsp } from 'node:fs';

/** A file of manifest rows handed from a worker to the main thread. */
export interface RowsFile {
  path: string;
  rows: number;
  bytes: number;
}

/** Read size: large enough that per-read costs vanish, small for memory. */
const READ_BYTES = 1 << 20;

/**
 * The file's rows in row-aligned chunks of one reused buffer: a chunk is valid only until the next one is asked for.
 * A file that does not exist has no rows.
 * @throws Error when the file ends inside a row.
 */
export async function* rowChunks(file: string): AsyncGenerator<Buffer> {
  const fh = await fsp.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!fh) return;
  try {
    let buf = Buffer.allocUnsafeSlow(READ_BYTES);
    let have = 0;
    for (;;) {
      if (have === buf.length) {
        // A row longer than the buffer (cannot happen with real keys, but never lose one): grow it.
        const bigger = Buffer.allocUnsafeSlow(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, have, buf.length - have, null);
      const end = have + bytesRead;
      if (bytesRead === 0) {
        if (have > 0) throw new Error(`rows file ${file} ends inside a row`);
        return;
      }
      const cut = buf.lastIndexOf(0x0a, end - 1) + 1;
      if (cut > 0) yield buf.subarray(0, cut);
      // The caller is done with the chunk: keep the unfinished row at the front and read on.
      buf.copy(buf, 0, cut, end);
      have = end - cut;
    }
  } finally {
    await fh.close();
  }
}
