/**
 * CEA-608 captions as an encoder inserts them: byte pairs of a pop-on caption (CTA-608-E §B,
 * odd parity), carried in an H.264 SEI NAL unit as ATSC A/53 cc_data (GA94), and an FLV
 * publisher that puts such an SEI in front of the video frames of a file, as OBS's caption
 * output does.
 */
import { readFileSync } from 'node:fs';
import { FLV_TAG_SCRIPT, FLV_TAG_VIDEO, FlvReader } from '../../src/flv/reader.js';
import { concatBytes } from '../../src/core/bytes.js';
import { encodeAmf0, type Amf0Value } from '../../src/flv/amf0.js';
import { addEmulationPrevention } from '../../src/latency/sei.js';
import { MessageType } from '../../src/rtmp/messages.js';
import { sendInRealTime, type ErtmpPublisher, type TimedTag } from './ertmp-publisher.js';

/** CTA-608 bytes carry odd parity in bit 7. */
export function withParity(b: number): number {
  let ones = 0;
  for (let v = b & 0x7f; v; v >>= 1) ones += v & 1;
  return (b & 0x7f) | (ones % 2 === 0 ? 0x80 : 0);
}

/**
 * A pop-on caption on channel CC1: RCL, ENM, a PAC (row 15, white), the text, EOC; control
 * codes doubled as encoders send them (a decoder ignores the repeat).
 */
export function popOnCaption(text: string): [number, number][] {
  const pairs: [number, number][] = [];
  const control = (a: number, b: number): void => {
    pairs.push([a, b], [a, b]);
  };
  control(0x14, 0x20); // RCL: resume caption loading
  control(0x14, 0x2e); // ENM: erase non-displayed memory
  control(0x14, 0x70); // PAC: row 15, column 0, white
  for (let i = 0; i < text.length; i += 2) pairs.push([text.charCodeAt(i), i + 1 < text.length ? text.charCodeAt(i + 1) : 0]);
  control(0x14, 0x2f); // EOC: end of caption (display it)
  return pairs.map(([a, b]) => [withParity(a), withParity(b)]);
}

/**
 * An H.264 SEI NAL unit (header included, escaped) with one user_data_registered_itu_t_t35
 * message: A/53 cc_data with `pairs` as valid CEA-608 triplets of `field` (1 or 2), or
 * `dtvcc` triplets of CEA-708 (cc_type 2).
 */
export function captionSei(pairs: readonly (readonly [number, number])[], options: { field?: 1 | 2; dtvcc?: boolean; valid?: boolean } = {}): Uint8Array {
  const type = options.dtvcc ? 2 : options.field === 2 ? 1 : 0;
  const valid = options.valid === false ? 0 : 0x04;
  const payload = [0xb5, 0x00, 0x31, 0x47, 0x41, 0x39, 0x34, 0x03, 0x40 | pairs.length, 0xff];
  for (const [a, b] of pairs) payload.push(0xf8 | valid | type, a, b);
  payload.push(0xff);
  const rbsp = [4, payload.length, ...payload, 0x80];
  const escaped = addEmulationPrevention(new Uint8Array(rbsp));
  const nal = new Uint8Array(1 + escaped.byteLength);
  nal[0] = 0x06;
  nal.set(escaped, 1);
  return nal;
}

/** `nal` prepended to a length-prefixed (4-byte) access unit. */
export function prependNal(accessUnit: Uint8Array, nal: Uint8Array): Uint8Array {
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, nal.byteLength);
  return concatBytes([length, nal, accessUnit]);
}

/** EDM (erase displayed memory), doubled. */
const ERASE_DISPLAYED: readonly [number, number][] = [
  [withParity(0x14), withParity(0x2c)],
  [withParity(0x14), withParity(0x2c)],
];

/**
 * Publishes an H.264 + AAC FLV file in real time, looping, with the pop-on caption `text`
 * (and the data messages `data`, e.g. onTextData, at their times of each loop)
 * carried in the SEI of its video frames: one byte pair per frame from each keyframe on, erased
 * 30 frames after the keyframe, so every segment shows the caption (a player joining late sees
 * one within a segment).
 */
export function publishFlvWithCaptions(file: string, url: string, text: string, data: readonly { ms: number; values: readonly Amf0Value[] }[] = []): Promise<ErtmpPublisher> {
  const caption = popOnCaption(text);
  const headers: TimedTag[] = [];
  const tags: TimedTag[] = [];
  let sinceKey = Infinity;
  for (const tag of new FlvReader().push(readFileSync(file))) {
    if (tag.type === FLV_TAG_SCRIPT) continue;
    const isHeader = tag.payload[1] === 0;
    if (isHeader) {
      headers.push({ ms: tag.timestamp, type: tag.type === FLV_TAG_VIDEO ? MessageType.Video : MessageType.Audio, payload: tag.payload });
      continue;
    }
    if (tag.type !== FLV_TAG_VIDEO) {
      tags.push({ ms: tag.timestamp, type: MessageType.Audio, payload: tag.payload });
      continue;
    }
    // AVC video tag: FrameType|CodecID, AVCPacketType, CompositionTime(3), then the NAL units.
    const key = tag.payload[0]! >> 4 === 1;
    sinceKey = key ? 0 : sinceKey + 1;
    // The caption from each keyframe on, erased a second later: a player writes a cue when the
    // screen changes, so it needs the erase to close one.
    const pair = caption[sinceKey] ?? ERASE_DISPLAYED[sinceKey - 30];
    const payload = pair ? concatBytes([tag.payload.subarray(0, 5), prependNal(tag.payload.subarray(5), captionSei([pair]))]) : tag.payload;
    tags.push({ ms: tag.timestamp, type: MessageType.Video, payload });
  }
  for (const d of data) tags.push({ ms: d.ms, type: MessageType.DataAMF0, payload: encodeAmf0(...d.values) });
  return sendInRealTime(url, headers, tags);
}
