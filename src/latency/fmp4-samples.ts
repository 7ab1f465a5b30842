/**
 * Splits a CMAF fragment (moof + mdat, one or more) into sample byte views using each traf's
 * tfhd (ISO/IEC 14496-12 §8.8.7) and trun (§8.8.8) sizes. Only what the latency probe needs:
 * no durations, no init segment. Throws GatewayError on malformed input.
 */
import { GatewayError } from '../core/errors.js';
import { listBoxes, listChildren, type BoxInfo } from '../mux/fmp4/inspect.js';

export interface FragmentSample {
  readonly trackId: number;
  readonly data: Uint8Array;
}

const MAX_SAMPLES_PER_TRUN = 100_000;

function u32(view: DataView, at: number, end: number): number {
  if (at + 4 > end) throw new GatewayError('mux.fmp4', 'truncated full box', { offset: at });
  return view.getUint32(at);
}

export function fragmentSamples(bytes: Uint8Array): FragmentSample[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: FragmentSample[] = [];
  const top = listBoxes(bytes);
  for (let i = 0; i < top.length; i++) {
    const moof = top[i]!;
    if (moof.type !== 'moof') continue;
    const mdat = top.slice(i + 1).find((b) => b.type === 'mdat');
    for (const traf of listChildren(bytes, moof).filter((b) => b.type === 'traf')) {
      readTraf(bytes, view, moof, mdat, traf, out);
    }
  }
  return out;
}

function readTraf(bytes: Uint8Array, view: DataView, moof: BoxInfo, mdat: BoxInfo | undefined, traf: BoxInfo, out: FragmentSample[]): void {
  const children = listChildren(bytes, traf);
  const tfhd = children.find((b) => b.type === 'tfhd');
  if (!tfhd) throw new GatewayError('mux.fmp4', 'traf without tfhd', { offset: traf.offset });
  const tEnd = tfhd.offset + tfhd.size;
  let at = tfhd.offset + tfhd.headerSize;
  const tfhdFlags = u32(view, at, tEnd) & 0xffffff;
  const trackId = u32(view, at + 4, tEnd);
  at += 8;
  // tfhd flags (§8.8.7.1): 0x01 base-data-offset, 0x02 sample-description-index, 0x08 default
  // duration, 0x10 default size, 0x20 default flags, 0x020000 default-base-is-moof.
  let base = moof.offset;
  if (tfhdFlags & 0x01) {
    const hi = u32(view, at, tEnd);
    base = hi * 0x1_0000_0000 + u32(view, at + 4, tEnd);
    at += 8;
  }
  if (tfhdFlags & 0x02) at += 4;
  if (tfhdFlags & 0x08) at += 4;
  let defaultSize = 0;
  if (tfhdFlags & 0x10) defaultSize = u32(view, at, tEnd);
  // Without data-offset fields the first trun's data starts at the mdat payload (§8.8.8.3).
  let next = mdat ? mdat.offset + mdat.headerSize : moof.offset + moof.size;
  for (const trun of children.filter((b) => b.type === 'trun')) {
    const rEnd = trun.offset + trun.size;
    let r = trun.offset + trun.headerSize;
    const flags = u32(view, r, rEnd) & 0xffffff;
    const count = u32(view, r + 4, rEnd);
    r += 8;
    if (count > MAX_SAMPLES_PER_TRUN) throw new GatewayError('mux.fmp4', 'too many samples in trun', { offset: trun.offset, count });
    let dataAt = next;
    if (flags & 0x01) {
      if (r + 4 > rEnd) throw new GatewayError('mux.fmp4', 'truncated trun', { offset: trun.offset });
      dataAt = base + view.getInt32(r);
      r += 4;
    }
    if (flags & 0x04) r += 4;
    for (let s = 0; s < count; s++) {
      if (flags & 0x100) r += 4;
      let size = defaultSize;
      if (flags & 0x200) {
        size = u32(view, r, rEnd);
        r += 4;
      }
      if (flags & 0x400) r += 4;
      if (flags & 0x800) r += 4;
      if (r > rEnd) throw new GatewayError('mux.fmp4', 'truncated trun', { offset: trun.offset });
      if (dataAt < 0 || dataAt + size > bytes.byteLength) {
        throw new GatewayError('mux.fmp4', 'sample outside the fragment', { offset: dataAt, size });
      }
      out.push({ trackId, data: bytes.subarray(dataAt, dataAt + size) });
      dataAt += size;
    }
    next = dataAt;
  }
}
