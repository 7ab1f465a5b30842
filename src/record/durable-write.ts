/**
 * Crash-safe file replacement: a reader (or a restart after a crash) sees either the old file or
 * the complete new one, never a prefix.
 *
 *   write NAME.tmp ─▶ fsync(NAME.tmp) ─▶ rename(NAME.tmp, NAME) ─▶ fsync(dir)
 *
 * POSIX rename(2) replaces the target atomically; the file fsync makes the data durable before the
 * name points at it (otherwise ext4/xfs may persist the rename first and leave a zero-length file
 * after a power cut), and the directory fsync makes the rename itself durable.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

/** Suffix of a file being written; never listed, removed or overwritten on the next attempt. */
export const TMP_SUFFIX = '.tmp';

/** The filesystem calls the recorder makes: node's fs.promises, or a wrapper (fault injection in tests). */
export interface RecorderFs {
  mkdir(path: string, options: { recursive: true }): Promise<string | undefined>;
  open(path: string, flags: string): Promise<RecorderFileHandle>;
  rename(from: string, to: string): Promise<void>;
}

export interface RecorderFileHandle {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export const nodeFs: RecorderFs = {
  mkdir: (path, options) => fsp.mkdir(path, options),
  open: (path, flags) => fsp.open(path, flags),
  rename: (from, to) => fsp.rename(from, to),
};

/** Writes every byte of `chunks` in order from offset 0 (a short write is continued, not lost). */
async function writeAll(handle: RecorderFileHandle, chunks: readonly Uint8Array[]): Promise<number> {
  let position = 0;
  for (const chunk of chunks) {
    let done = 0;
    while (done < chunk.byteLength) {
      const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position);
      if (bytesWritten <= 0) throw new Error(`write made no progress at offset ${position}`);
      done += bytesWritten;
      position += bytesWritten;
    }
  }
  return position;
}

/** fsync(2) on a directory: makes the entries created or renamed in it durable. */
export async function syncDirectory(fs: RecorderFs, dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `dir/name` with `data` durably (see module doc). Returns the bytes written.
 * `data` is a string (UTF-8) or the pieces of a segment, written without joining them.
 */
export async function writeFileDurably(fs: RecorderFs, dir: string, name: string, data: string | readonly Uint8Array[]): Promise<number> {
  const target = join(dir, name);
  const tmp = target + TMP_SUFFIX;
  const chunks = typeof data === 'string' ? [new TextEncoder().encode(data)] : data;
  // 'w' truncates a .tmp left by an earlier crash.
  const handle = await fs.open(tmp, 'w');
  let written: number;
  try {
    written = await writeAll(handle, chunks);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, target);
  await syncDirectory(fs, dir);
  return written;
}
