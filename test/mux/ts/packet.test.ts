import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import {
  AUDIO_PID,
  PAT_PID,
  PMT_PID,
  STREAM_TYPE,
  TS_PACKET_SIZE,
  VIDEO_PID,
  buildPatSection,
  buildPmtSection,
  crc32Mpeg2,
  maxPayloadSize,
  readPcrBase,
  readTimestamp,
  writePacketHeader,
  writePcr,
  writePesHeader,
  writePsiPacket,
  writeTimestamp,
} from '../../../src/mux/ts/packet.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const padFF = (head: string): string => toHex(hex(head)) + 'ff'.repeat(TS_PACKET_SIZE - hex(head).length);

// Golden packets as ffmpeg 5.1 writes them with
// `-mpegts_pmt_start_pid 0x1000 -mpegts_start_pid 0x100` (H.264 + AAC, program 1).
const FFMPEG_PAT = '47 40 00 10 00 00 b0 0d 00 01 c1 00 00 00 01 f0 00 2a b1 04 b2';
const FFMPEG_PMT = '47 50 00 10 00 02 b0 17 00 01 c1 00 00 e1 00 f0 00 1b e1 00 f0 00 0f e1 01 f0 00 2f 44 b9 9b';
// First video packet of the same file: adaptation field with random_access + PCR 63000, then the
// PES header with PTS 133200 / DTS 126000 (PES_packet_length 0, no data_alignment flag).
const FFMPEG_VIDEO_TS_HEADER = '47 41 00 30 07 50 00 00 7b 0c 7e 00';
const FFMPEG_VIDEO_PES_HEADER = '00 00 01 e0 00 00 80 c0 0a 31 00 09 10 a1 11 00 07 d8 61';

describe('PSI sections', () => {
  it('PAT matches ffmpeg byte for byte', () => {
    const out = new Uint8Array(TS_PACKET_SIZE);
    expect(writePsiPacket(out, 0, PAT_PID, 0, buildPatSection())).toBe(TS_PACKET_SIZE);
    expect(toHex(out)).toBe(padFF(FFMPEG_PAT));
  });

  it('PMT (H.264 0x100 + AAC 0x101, PCR on video) matches ffmpeg byte for byte', () => {
    const out = new Uint8Array(TS_PACKET_SIZE);
    const section = buildPmtSection({
      pcrPid: VIDEO_PID,
      streams: [
        { streamType: STREAM_TYPE.avc, pid: VIDEO_PID },
        { streamType: STREAM_TYPE.aacAdts, pid: AUDIO_PID },
      ],
    });
    writePsiPacket(out, 0, PMT_PID, 0, section);
    expect(toHex(out)).toBe(padFF(FFMPEG_PMT));
  });

  it('the CRC over a whole section (CRC included) is 0, and parses back from golden bytes', () => {
    const pat = hex(FFMPEG_PAT).subarray(5);
    expect(crc32Mpeg2(pat)).toBe(0);
    expect(crc32Mpeg2(pat, 0, pat.length - 4)).toBe(0x2ab104b2);
    const pmt = buildPmtSection({ pcrPid: AUDIO_PID, streams: [{ streamType: STREAM_TYPE.aacAdts, pid: AUDIO_PID }], version: 3 });
    expect(crc32Mpeg2(pmt)).toBe(0);
    // version_number sits in bits 5..1 of byte 5
    expect((pmt[5]! >> 1) & 0x1f).toBe(3);
    // section_length = bytes after the length field
    expect(((pmt[1]! & 0x0f) << 8) | pmt[2]!).toBe(pmt.length - 3);
  });

  it('CRC-32/MPEG-2 check value', () => {
    expect(crc32Mpeg2(new TextEncoder().encode('123456789'))).toBe(0x0376e6e7);
  });

  it('rejects a PID out of range and a section too long for one packet', () => {
    expect(() => buildPatSection(1, 0x2000)).toThrow(GatewayError);
    const streams = Array.from({ length: 40 }, (_, i) => ({ streamType: 0x1b, pid: 0x100 + i }));
    const section = buildPmtSection({ pcrPid: 0x100, streams });
    expect(() => writePsiPacket(new Uint8Array(188), 0, PMT_PID, 0, section)).toThrow(GatewayError);
  });
});

describe('timestamps', () => {
  it('PES header with PTS and DTS matches ffmpeg', () => {
    const out = new Uint8Array(19);
    const end = writePesHeader(out, 0, { streamId: 0xe0, pts: 133200, dts: 126000, payloadLength: 0, dataAlignment: false });
    expect(end).toBe(19);
    expect(toHex(out)).toBe(toHex(hex(FFMPEG_VIDEO_PES_HEADER)));
  });

  it('reads PTS/DTS back from the golden header', () => {
    const h = hex(FFMPEG_VIDEO_PES_HEADER);
    expect(readTimestamp(h, 9)).toBe(133200);
    expect(readTimestamp(h, 14)).toBe(126000);
  });

  it('PTS only when DTS equals PTS, with PES_packet_length and data_alignment for audio', () => {
    const out = new Uint8Array(14);
    const end = writePesHeader(out, 0, { streamId: 0xc0, pts: 90000, dts: 90000, payloadLength: 100, dataAlignment: true });
    expect(end).toBe(14);
    // length = 3 flag bytes + 5 PTS + 100
    expect(toHex(out.subarray(0, 9))).toBe('000001c0006c848005');
    expect(out[9]! >> 4).toBe(0x2);
    expect(readTimestamp(out, 9)).toBe(90000);
  });

  it('wraps at 2^33 and keeps every marker bit set', () => {
    const b = new Uint8Array(5);
    for (const [value, expected] of [
      [2 ** 33 - 1, 2 ** 33 - 1],
      [2 ** 33 + 5, 5],
      [2 ** 40 + 123456, (2 ** 40 + 123456) % 2 ** 33],
      [-1, 2 ** 33 - 1],
    ] as const) {
      writeTimestamp(b, 0, 0x2, value);
      expect(readTimestamp(b, 0)).toBe(expected);
      expect(b[0]! & 1).toBe(1);
      expect(b[2]! & 1).toBe(1);
      expect(b[4]! & 1).toBe(1);
    }
  });

  it('PCR: 33-bit base, six reserved ones, 9-bit extension', () => {
    const b = new Uint8Array(6);
    writePcr(b, 0, 63000);
    expect(toHex(b)).toBe('00007b0c7e00');
    writePcr(b, 0, 2 ** 33 - 1, 0x1ff);
    expect(toHex(b)).toBe('ffffffffffff');
    expect(readPcrBase(b, 0)).toBe(2 ** 33 - 1);
    writePcr(b, 0, 1, 0);
    expect(toHex(b)).toBe('00000000fe00');
  });
});

describe('packet header and adaptation field', () => {
  it('PCR + random access packet matches ffmpeg', () => {
    const out = new Uint8Array(188);
    const payloadAt = writePacketHeader(out, 0, { pid: VIDEO_PID, payloadUnitStart: true, continuityCounter: 0, payloadLength: 176, randomAccess: true, pcr: 63000 });
    expect(payloadAt).toBe(12);
    expect(toHex(out.subarray(0, 12))).toBe(toHex(hex(FFMPEG_VIDEO_TS_HEADER)));
  });

  it('payload-only packet when the payload fills 184 bytes', () => {
    const out = new Uint8Array(188);
    expect(writePacketHeader(out, 0, { pid: AUDIO_PID, payloadUnitStart: false, continuityCounter: 17, payloadLength: 184 })).toBe(4);
    expect(toHex(out.subarray(0, 4))).toBe('47010111');
  });

  it('one stuffing byte is an adaptation field of length 0', () => {
    const out = new Uint8Array(188);
    expect(writePacketHeader(out, 0, { pid: AUDIO_PID, payloadUnitStart: false, continuityCounter: 2, payloadLength: 183 })).toBe(5);
    expect(toHex(out.subarray(0, 5))).toBe('4701013200');
  });

  it('stuffs short payloads with 0xFF after an empty flags byte', () => {
    const out = new Uint8Array(188);
    const at = writePacketHeader(out, 0, { pid: VIDEO_PID, payloadUnitStart: false, continuityCounter: 3, payloadLength: 100 });
    expect(at).toBe(88);
    expect(out[4]).toBe(83); // 184 - 100 - 1
    expect(out[5]).toBe(0);
    expect(out.subarray(6, 88).every((b) => b === 0xff)).toBe(true);
  });

  it('PCR with stuffing: the flags stay, stuffing follows the PCR', () => {
    const out = new Uint8Array(188);
    const at = writePacketHeader(out, 0, { pid: VIDEO_PID, payloadUnitStart: true, continuityCounter: 0, payloadLength: 20, pcr: 900 });
    expect(at).toBe(168);
    expect(out[4]).toBe(163);
    expect(out[5]).toBe(0x10);
    expect(readPcrBase(out, 6)).toBe(900);
    expect(out.subarray(12, 168).every((b) => b === 0xff)).toBe(true);
  });

  it('refuses payload sizes the flags leave no room for', () => {
    expect(maxPayloadSize(true, true)).toBe(176);
    expect(maxPayloadSize(false, true)).toBe(182);
    expect(maxPayloadSize(false, false)).toBe(184);
    const out = new Uint8Array(188);
    expect(() => writePacketHeader(out, 0, { pid: 1, payloadUnitStart: true, continuityCounter: 0, payloadLength: 177, pcr: 0 })).toThrow(GatewayError);
    expect(() => writePacketHeader(out, 0, { pid: 1, payloadUnitStart: true, continuityCounter: 0, payloadLength: 0 })).toThrow(GatewayError);
  });
});
