/**
 * Push-driven FLV file demuxer (Adobe FLV spec v10.1 §E.2 header, §E.3 body, §E.4.1 tag header).
 *
 * ```
 * header : 'F' 'L' 'V' version(8)=1 flags(8: audio 0x04, video 0x01) DataOffset(32)=9
 * body   : PreviousTagSize0(32)=0 { tag PreviousTagSize(32) }*
 * tag    : reserved(2) filter(1) TagType(5) DataSize(24) Timestamp(24) TimestampExtended(8)
 *          StreamID(24)=0 | body[DataSize]
 * ```
 * Survives any split of the input. A tag wholly inside one pushed chunk is returned as a view of
 * that chunk (callers must not reuse the chunk's memory); a tag split across chunks is assembled
 * into its own buffer, allocated once at its final size.
 */
import { readU24, readU32 } from '../core/bytes.js';
import { GatewayError } from '../core/errors.js';

export const FLV_TAG_AUDIO = 8;
export const FLV_TAG_VIDEO = 9;
export const FLV_TAG_SCRIPT = 18;

export interface FlvTag {
  type: number;
  /** Milliseconds, 32-bit (TimestampExtended is the upper 8 bits). */
  timestamp: number;
  payload: Uint8Array;
}

export interface FlvFileHeader {
  version: number;
  audio: boolean;
  video: boolean;
}

export interface FlvReaderOptions {
  /** Largest tag body accepted. Default 16 MiB (DataSize is 24-bit anyway). */
  maxTagSize?: number;
  /** Largest DataOffset (header length) accepted. Default 1024. */
  maxHeaderSize?: number;
}

const FILE_HEADER_LENGTH = 9;
const TAG_HEADER_LENGTH = 11;
const PREVIOUS_TAG_SIZE_LENGTH = 4;
const TAG_PREFIX_LENGTH = PREVIOUS_TAG_SIZE_LENGTH + TAG_HEADER_LENGTH;

type Phase = 'file-header' | 'header-skip' | 'tag-header' | 'tag-body';

export class FlvReader {
  private readonly maxTagSize: number;
  private readonly maxHeaderSize: number;
  private phase: Phase = 'file-header';
  /** Bytes consumed from the start of the file, for error context. */
  private position = 0;
  /** Small fixed buffer for headers split across pushes. */
  private readonly headerBuf = new Uint8Array(TAG_HEADER_LENGTH + PREVIOUS_TAG_SIZE_LENGTH);
  private headerFill = 0;
  private skipLeft = 0;
  private pendingType = 0;
  private pendingTimestamp = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private fileHeader: FlvFileHeader | undefined;

  constructor(opts: FlvReaderOptions = {}) {
    this.maxTagSize = opts.maxTagSize ?? 16 * 1024 * 1024;
    this.maxHeaderSize = opts.maxHeaderSize ?? 1024;
  }

  /** The file header once its 9 bytes have arrived. */
  get header(): FlvFileHeader | undefined {
    return this.fileHeader;
  }

  push(data: Uint8Array): FlvTag[] {
    const tags: FlvTag[] = [];
    let off = 0;
    while (off < data.byteLength) {
      switch (this.phase) {
        case 'file-header': {
          off = this.fillHeader(data, off, FILE_HEADER_LENGTH);
          if (this.headerFill < FILE_HEADER_LENGTH) break;
          this.parseFileHeader();
          break;
        }
        case 'header-skip': {
          const n = Math.min(this.skipLeft, data.byteLength - off);
          off += n;
          this.position += n;
          this.skipLeft -= n;
          if (this.skipLeft === 0) this.phase = 'tag-header';
          break;
        }
        case 'tag-header': {
          // A PreviousTagSize (the one after the file header, or after the last tag) precedes every tag header.
          let h: Uint8Array;
          let at: number;
          if (this.headerFill === 0 && data.byteLength - off >= TAG_PREFIX_LENGTH) {
            h = data;
            at = off;
            off += TAG_PREFIX_LENGTH;
            this.position += TAG_PREFIX_LENGTH;
          } else {
            off = this.fillHeader(data, off, TAG_PREFIX_LENGTH);
            if (this.headerFill < TAG_PREFIX_LENGTH) break;
            h = this.headerBuf;
            at = 0;
            this.headerFill = 0;
          }
          const { type, size, timestamp } = this.decodeTagHeader(h, at);
          if (off + size <= data.byteLength) {
            // Whole body inside this chunk: hand out a view, no copy.
            tags.push({ type, timestamp, payload: data.subarray(off, off + size) });
            off += size;
            this.position += size;
          } else {
            this.pendingType = type;
            this.pendingTimestamp = timestamp;
            this.body = new Uint8Array(size);
            this.bodyFill = 0;
            this.phase = 'tag-body';
          }
          break;
        }
        case 'tag-body': {
          const body = this.body!;
          const n = Math.min(body.byteLength - this.bodyFill, data.byteLength - off);
          body.set(data.subarray(off, off + n), this.bodyFill);
          this.bodyFill += n;
          off += n;
          this.position += n;
          if (this.bodyFill === body.byteLength) {
            tags.push({ type: this.pendingType, timestamp: this.pendingTimestamp, payload: body });
            this.body = undefined;
            this.phase = 'tag-header';
          }
          break;
        }
      }
    }
    return tags;
  }

  private fillHeader(data: Uint8Array, off: number, need: number): number {
    const n = Math.min(need - this.headerFill, data.byteLength - off);
    this.headerBuf.set(data.subarray(off, off + n), this.headerFill);
    this.headerFill += n;
    this.position += n;
    return off + n;
  }

  private parseFileHeader(): void {
    const h = this.headerBuf;
    if (h[0] !== 0x46 || h[1] !== 0x4c || h[2] !== 0x56) {
      throw new GatewayError('flv', 'not an FLV file (signature)', { offset: 0 });
    }
    const dataOffset = readU32(h, 5);
    if (dataOffset < FILE_HEADER_LENGTH || dataOffset > this.maxHeaderSize) {
      throw new GatewayError('flv', `FLV DataOffset ${dataOffset} out of range`, { offset: 5 });
    }
    this.fileHeader = { version: h[3]!, audio: (h[4]! & 0x04) !== 0, video: (h[4]! & 0x01) !== 0 };
    this.headerFill = 0;
    this.skipLeft = dataOffset - FILE_HEADER_LENGTH;
    this.phase = this.skipLeft > 0 ? 'header-skip' : 'tag-header';
  }

  /** Decodes PreviousTagSize + tag header at `at` (the last 15 bytes consumed). */
  private decodeTagHeader(h: Uint8Array, at: number): { type: number; size: number; timestamp: number } {
    const offset = this.position - TAG_HEADER_LENGTH;
    const t = at + PREVIOUS_TAG_SIZE_LENGTH;
    if (h[t]! & 0x20) {
      // §E.4.1 Filter = 1 marks an encrypted body: nothing a gateway can use.
      throw new GatewayError('flv', 'encrypted (filtered) FLV tag', { offset });
    }
    const type = h[t]! & 0x1f;
    const size = readU24(h, t + 1);
    if (size > this.maxTagSize) {
      throw new GatewayError('flv', `tag size ${size} exceeds limit ${this.maxTagSize}`, { offset, type });
    }
    // §E.4.1: TimestampExtended holds the upper 8 bits of a 32-bit millisecond timestamp.
    const timestamp = (readU24(h, t + 4) | (h[t + 7]! << 24)) >>> 0;
    return { type, size, timestamp };
  }
}
