/**
 * MPEG-TS program specific information, reading side (ISO/IEC 13818-1 §2.4.4): reassembly of
 * sections from transport packet payloads (pointer_field, sections spanning packets, several
 * sections in one packet, 0xFF stuffing) and parsing of the PAT and PMT. The builders are in
 * `packet.ts`.
 *
 * Section parsers throw GatewayError('mux.ts') on anything malformed (bad CRC, lengths that
 * overrun); the demuxer turns that into a warning.
 */
import { GatewayError } from '../../core/errors.js';
import { crc32Mpeg2 } from './packet.js';

/** PAT and PMT sections: section_length is at most 1021 (§2.4.4.3, §2.4.4.8), 1024 in all. */
const MAX_PSI_SECTION = 1024;
const TABLE_ID_PAT = 0x00;
const TABLE_ID_PMT = 0x02;
const ISO_639_LANGUAGE_DESCRIPTOR = 0x0a;

/**
 * Collects the sections of one PID. `push` hands complete sections to `onSection` as views that
 * are valid only during the call (the buffer is reused). Malformed framing goes to `onError`.
 */
export class SectionAssembler {
  private readonly buf = new Uint8Array(MAX_PSI_SECTION);
  private len = 0;
  /** 0 while the 3-byte header is incomplete. */
  private total = 0;
  private active = false;

  constructor(
    private readonly onSection: (section: Uint8Array) => void,
    private readonly onError: (message: string) => void,
  ) {}

  /** Drops a partly collected section (after a lost packet). */
  reset(): void {
    this.active = false;
    this.len = 0;
    this.total = 0;
  }

  /** The payload bytes `data[start, end)` of one transport packet. */
  push(data: Uint8Array, start: number, end: number, payloadUnitStart: boolean): void {
    if (!payloadUnitStart) {
      if (this.active) this.feed(data, start, end, false);
      return;
    }
    if (start >= end) return;
    // §2.4.4.2: pointer_field = bytes of the previous section that come before the new one.
    const pointer = data[start]!;
    const next = start + 1 + pointer;
    if (next > end) {
      this.reset();
      this.onError(`pointer_field ${pointer} points past the packet`);
      return;
    }
    if (this.active) {
      this.feed(data, start + 1, next, true);
      if (this.active) {
        this.onError('PSI section cut short by the next section');
        this.reset();
      }
    }
    this.feed(data, next, end, false);
  }

  private feed(data: Uint8Array, start: number, end: number, finishOnly: boolean): void {
    let off = start;
    while (off < end) {
      if (!this.active) {
        // After a section: 0xFF is stuffing up to the end of the packet (§2.4.4); only a PUSI
        // packet's pointer_field may start a new section otherwise.
        if (finishOnly || data[off] === 0xff) return;
        this.active = true;
        this.len = 0;
        this.total = 0;
      }
      const need = this.total === 0 ? 3 - this.len : this.total - this.len;
      const take = Math.min(need, end - off);
      this.buf.set(data.subarray(off, off + take), this.len);
      this.len += take;
      off += take;
      if (this.total === 0 && this.len === 3) {
        const sectionLength = ((this.buf[1]! & 0x0f) << 8) | this.buf[2]!;
        if (3 + sectionLength > MAX_PSI_SECTION) {
          this.reset();
          this.onError(`section_length ${sectionLength} too long`);
          return;
        }
        this.total = 3 + sectionLength;
      }
      if (this.total !== 0 && this.len === this.total) {
        this.active = false;
        this.onSection(this.buf.subarray(0, this.total));
      }
    }
  }
}

interface LongSectionHeader {
  tableId: number;
  /** transport_stream_id (PAT) or program_number (PMT). */
  idField: number;
  version: number;
  currentNext: boolean;
  /** Offset of the first byte after last_section_number. */
  bodyStart: number;
  /** Offset of the CRC_32. */
  bodyEnd: number;
}

function longSectionHeader(section: Uint8Array, tableId: number, what: string): LongSectionHeader {
  if (section.byteLength < 12) throw new GatewayError('mux.ts', `${what} section truncated`, { length: section.byteLength });
  if (section[0] !== tableId) throw new GatewayError('mux.ts', `${what} section has table_id 0x${section[0]!.toString(16)}`, {});
  if ((section[1]! & 0x80) === 0) throw new GatewayError('mux.ts', `${what} section without section_syntax_indicator`, {});
  const total = 3 + (((section[1]! & 0x0f) << 8) | section[2]!);
  if (total !== section.byteLength) throw new GatewayError('mux.ts', `${what} section length mismatch`, { total, length: section.byteLength });
  // Over the whole section, CRC included, the MPEG-2 CRC is 0 (Annex A).
  if (crc32Mpeg2(section) !== 0) throw new GatewayError('mux.ts', `${what} section CRC mismatch`, {});
  return {
    tableId,
    idField: (section[3]! << 8) | section[4]!,
    version: (section[5]! >>> 1) & 0x1f,
    currentNext: (section[5]! & 1) === 1,
    bodyStart: 8,
    bodyEnd: total - 4,
  };
}

export interface PatProgram {
  readonly programNumber: number;
  readonly pmtPid: number;
}

export interface Pat {
  readonly transportStreamId: number;
  readonly version: number;
  readonly currentNext: boolean;
  /** Programs in section order; program_number 0 (the network PID) is left out. */
  readonly programs: readonly PatProgram[];
}

/** program_association_section (§2.4.4.3). */
export function parsePat(section: Uint8Array): Pat {
  const h = longSectionHeader(section, TABLE_ID_PAT, 'PAT');
  if ((h.bodyEnd - h.bodyStart) % 4 !== 0) throw new GatewayError('mux.ts', 'PAT program loop is not a multiple of 4 bytes', {});
  const programs: PatProgram[] = [];
  for (let at = h.bodyStart; at < h.bodyEnd; at += 4) {
    const programNumber = (section[at]! << 8) | section[at + 1]!;
    const pid = ((section[at + 2]! & 0x1f) << 8) | section[at + 3]!;
    if (programNumber !== 0) programs.push({ programNumber, pmtPid: pid });
  }
  return { transportStreamId: h.idField, version: h.version, currentNext: h.currentNext, programs };
}

export interface PmtStream {
  readonly streamType: number;
  readonly pid: number;
  /** ISO 639-2 code from the first entry of an ISO_639_language_descriptor (§2.6.18), e.g. `eng`. */
  readonly language?: string;
}

export interface Pmt {
  readonly programNumber: number;
  readonly version: number;
  readonly currentNext: boolean;
  readonly pcrPid: number;
  readonly streams: readonly PmtStream[];
}

/** TS_program_map_section (§2.4.4.8). */
export function parsePmt(section: Uint8Array): Pmt {
  const h = longSectionHeader(section, TABLE_ID_PMT, 'PMT');
  let at = h.bodyStart;
  if (at + 4 > h.bodyEnd) throw new GatewayError('mux.ts', 'PMT truncated before program_info', {});
  const pcrPid = ((section[at]! & 0x1f) << 8) | section[at + 1]!;
  const programInfoLength = ((section[at + 2]! & 0x0f) << 8) | section[at + 3]!;
  at += 4 + programInfoLength;
  if (at > h.bodyEnd) throw new GatewayError('mux.ts', 'PMT program_info overruns the section', { programInfoLength });
  const streams: PmtStream[] = [];
  while (at < h.bodyEnd) {
    if (at + 5 > h.bodyEnd) throw new GatewayError('mux.ts', 'PMT stream entry truncated', { offset: at });
    const streamType = section[at]!;
    const pid = ((section[at + 1]! & 0x1f) << 8) | section[at + 2]!;
    const esInfoLength = ((section[at + 3]! & 0x0f) << 8) | section[at + 4]!;
    const descriptorsEnd = at + 5 + esInfoLength;
    if (descriptorsEnd > h.bodyEnd) throw new GatewayError('mux.ts', 'PMT ES_info overruns the section', { pid, esInfoLength });
    const language = languageOf(section, at + 5, descriptorsEnd);
    streams.push(language === undefined ? { streamType, pid } : { streamType, pid, language });
    at = descriptorsEnd;
  }
  return { programNumber: h.idField, version: h.version, currentNext: h.currentNext, pcrPid, streams };
}

/** The language of the first ISO_639_language_descriptor in a descriptor loop, if well formed. */
function languageOf(section: Uint8Array, start: number, end: number): string | undefined {
  let at = start;
  while (at + 2 <= end) {
    const tag = section[at]!;
    const length = section[at + 1]!;
    const body = at + 2;
    if (body + length > end) return undefined;
    if (tag === ISO_639_LANGUAGE_DESCRIPTOR && length >= 4) {
      const code = String.fromCharCode(section[body]!, section[body + 1]!, section[body + 2]!);
      // ISO 639-2 codes are three letters; anything else (zeros, 'und' aside) is not a language.
      return /^[A-Za-z]{3}$/.test(code) ? code.toLowerCase() : undefined;
    }
    at = body + length;
  }
  return undefined;
}
