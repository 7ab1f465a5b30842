/**
 * Stage contracts: the codec-neutral track description and frame that every stage of the
 * pipeline consumes and produces (ingest -> core Stream -> segmenter -> muxers).
 *
 * Timestamps are integers in the track's own timescale:
 *   - video: 90 kHz (RTMP milliseconds * 90), so MPEG-TS and fMP4 share them exactly;
 *   - audio: the sample rate, so an AAC frame lasts exactly 1024 ticks (Opus: always 48 kHz,
 *     RFC 7845 §5.1 "Input Sample Rate" is informational only).
 * They are already unwrapped (monotonic 53-bit numbers, never the 32-bit RTMP clock).
 */

import type { ColourInfo } from '../codec/colour.js';

export const VIDEO_TIMESCALE = 90_000;

export type VideoCodec = 'avc' | 'hevc' | 'av1' | 'vp9';
/** AAC (legacy FLV or Enhanced RTMP `mp4a`), and the Enhanced RTMP v2 FourCCs `Opus`, `fLaC`, `ac-3`, `ec-3`. */
export type AudioCodec = 'aac' | 'opus' | 'flac' | 'ac3' | 'eac3';

export interface VideoTrack {
  readonly kind: 'video';
  readonly codec: VideoCodec;
  /** Always VIDEO_TIMESCALE. */
  readonly timescale: number;
  /** Coded picture size after cropping (display size). */
  readonly width: number;
  readonly height: number;
  /** Frames per second from the SPS VUI or metadata; undefined when unknown. */
  readonly fps?: number;
  /** RFC 6381 codec string, e.g. `avc1.64001f`. */
  readonly codecString: string;
  /**
   * Decoder configuration record exactly as it goes into the sample entry:
   * AVCDecoderConfigurationRecord (avcC), HEVCDecoderConfigurationRecord (hvcC) or
   * AV1CodecConfigurationRecord (av1C) or VPCodecConfigurationRecord (the vpcC payload after its
   * version and flags).
   */
  readonly config: Uint8Array;
  /** Parameter sets in raw NAL form (no length prefix), for Annex B output (MPEG-TS); none for AV1 and VP9. */
  readonly parameterSets: readonly Uint8Array[];
  /** Byte length of the NAL unit length prefix in frame data (1, 2 or 4); 0 for AV1 and VP9 (not NAL units). */
  readonly nalLengthSize: number;
  /** Colour description (HDR) the publisher signalled apart from the bitstream (E-RTMP colorInfo). */
  readonly colour?: ColourInfo;
}

export interface AudioTrack {
  readonly kind: 'audio';
  readonly codec: AudioCodec;
  /** Equals sampleRate. */
  readonly timescale: number;
  readonly sampleRate: number;
  readonly channels: number;
  /** MPEG-4 Audio Object Type (2 = AAC-LC, 5 = SBR/HE-AAC, 29 = PS); 0 for the other codecs. */
  readonly objectType: number;
  /** RFC 6381 codec string: `mp4a.40.2`, `opus`, `flac`, `ac-3` or `ec-3`. */
  readonly codecString: string;
  /**
   * The decoder configuration:
   *  - AAC: AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1);
   *  - Opus: the identification header OpusHead (RFC 7845 §5.1), as Enhanced RTMP carries it;
   *  - FLAC: the Enhanced RTMP SequenceStart as received (`fLaC` + metadata blocks, or the bare
   *    STREAMINFO) — codec/flac.ts reads either;
   *  - AC-3 / E-AC-3: the AC3SpecificBox / EC3SpecificBox payload (ETSI TS 102 366 §F.4 / §F.6)
   *    made from the first syncframe (the bitstream has no separate configuration).
   */
  readonly config: Uint8Array;
  /**
   * Samples per frame: 1024 for AAC-LC (960 is not supported by the muxers), 1536 for AC-3 and
   * E-AC-3, the nominal frame (960 = 20 ms) for Opus and STREAMINFO's block size for FLAC, whose
   * frames can vary: their frames carry their own `duration`.
   */
  readonly samplesPerFrame: number;
}

export type Track = VideoTrack | AudioTrack;
export type TrackKind = Track['kind'];

export interface Frame {
  readonly kind: TrackKind;
  /** Decode timestamp, track timescale. */
  readonly dts: number;
  /** Presentation timestamp, track timescale (pts - dts is the composition offset, may be 0). */
  readonly pts: number;
  /** Sync sample (IDR for video; every audio frame is one). */
  readonly key: boolean;
  /**
   * Video: the access unit in length-prefixed (AVCC/HVCC) form, `nalLengthSize` bytes per length;
   * AV1: the temporal unit's OBUs (sizes included), without temporal delimiters (AV1-ISOBMFF §2.4);
   * VP9: the frame or superframe as the encoder made it.
   * Audio: one raw AAC access unit (no ADTS header), one Opus packet (one per stream, RFC 6716
   * Appendix B framing), one FLAC frame, or one AC-3 / E-AC-3 access unit (1536 samples).
   * A view into ingest buffers at first. Its bytes are never changed downstream; where they are
   * kept may be (`rehomeFrameData`).
   */
  readonly data: Uint8Array;
  /**
   * Audio frames whose length varies (Opus, FLAC, E-AC-3): the frame's duration in track ticks, as
   * its own header says. Absent: `samplesPerFrame` (audio) or the distance to the next frame.
   */
  readonly duration?: number;
  /** Wall clock (ms since epoch) when the frame arrived at the gateway; for PROGRAM-DATE-TIME and latency. */
  readonly wallclock: number;
}

/**
 * Points `frame.data` at `copy`, the same bytes kept elsewhere: the CMAF muxer moves each frame
 * into the mdat of the part it just wrote. A frame is held by more than its part (the RTMP GOP
 * cache keeps a whole GOP of them, seconds of media): held by its ingest view it would keep the
 * publisher's message (or socket read) buffer alive beside the part's copy of the same bytes,
 * past the young-generation collections that would free it, so every such frame cost its media
 * twice in memory and in full collections. Moved, it costs the part's bytes only.
 */
export function rehomeFrameData(frame: Frame, copy: Uint8Array): void {
  if (copy.byteLength !== frame.data.byteLength) {
    throw new RangeError(`rehomeFrameData: ${copy.byteLength} bytes for a ${frame.kind} frame of ${frame.data.byteLength}`);
  }
  (frame as { data: Uint8Array }).data = copy;
}
