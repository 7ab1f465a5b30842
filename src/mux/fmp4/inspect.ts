/**
 * A tiny, bounded ISOBMFF box lister for tests and sanity checks (not a demuxer).
 * Walks one level of boxes (ISO/IEC 14496-12 §4.2): size32 type4 [largesize64 when size == 1];
 * size 0 means "to the end of the enclosing range".
 */
import { GatewayError } from '../../core/errors.js';

export interface BoxInfo {
  readonly type: string;
  /** Offset of the box's first byte within the input. */
  readonly offset: number;
  /** Total size including the header. */
  readonly size: number;
  /** Header length: 8, or 16 with a largesize. */
  readonly headerSize: number;
}

export interface ListBoxesOptions {
  /** Start and end of the range to walk (default: the whole input). */
  readonly start?: number;
  readonly end?: number;
  /** Stop with an error beyond this many boxes (default 10_000). */
  readonly maxBoxes?: number;
}

function fourCC(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/** Lists the boxes in `[start, end)`; throws GatewayError on a truncated or malformed box. */
export function listBoxes(bytes: Uint8Array, opts: ListBoxesOptions = {}): BoxInfo[] {
  const start = opts.start ?? 0;
  const end = opts.end ?? bytes.length;
  const maxBoxes = opts.maxBoxes ?? 10_000;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > bytes.length || start > end) {
    throw new GatewayError('mux.fmp4', 'box range outside the input', { start, end, length: bytes.length });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: BoxInfo[] = [];
  let at = start;
  while (at < end) {
    if (boxes.length >= maxBoxes) throw new GatewayError('mux.fmp4', 'too many boxes', { offset: at, maxBoxes });
    if (end - at < 8) throw new GatewayError('mux.fmp4', 'truncated box header', { offset: at });
    const type = fourCC(bytes, at + 4);
    let size = view.getUint32(at);
    let headerSize = 8;
    if (size === 1) {
      if (end - at < 16) throw new GatewayError('mux.fmp4', 'truncated largesize', { offset: at, type });
      size = view.getUint32(at + 8) * 0x1_0000_0000 + view.getUint32(at + 12);
      headerSize = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < headerSize) throw new GatewayError('mux.fmp4', 'box smaller than its header', { offset: at, type, size });
    if (size > end - at) throw new GatewayError('mux.fmp4', 'box runs past the end', { offset: at, type, size });
    boxes.push({ type, offset: at, size, headerSize });
    at += size;
  }
  return boxes;
}

/** Boxes directly inside `parent` (a container such as moov, trak, moof, traf). */
export function listChildren(bytes: Uint8Array, parent: BoxInfo, opts: { maxBoxes?: number } = {}): BoxInfo[] {
  return listBoxes(bytes, { start: parent.offset + parent.headerSize, end: parent.offset + parent.size, ...opts });
}

/**
 * Follows a path of container types from the top level, e.g. `['moof', 'traf', 'trun']`;
 * returns the first match or undefined. Depth is bounded by the path length.
 */
export function findBox(bytes: Uint8Array, path: readonly string[]): BoxInfo | undefined {
  let level = listBoxes(bytes);
  let found: BoxInfo | undefined;
  for (let i = 0; i < path.length; i++) {
    found = level.find((b) => b.type === path[i]);
    if (!found) return undefined;
    if (i < path.length - 1) level = listChildren(bytes, found);
  }
  return found;
}
