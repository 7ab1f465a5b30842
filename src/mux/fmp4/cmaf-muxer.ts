/**
 * The CMAF muxer of one track: format-neutral frame groups from the segmenter in, CMAF out —
 * an init segment per configuration, a `moof`+`mdat` chunk per group (an LL-HLS part, a
 * CMAF chunk of LL-DASH) and, when a segment ends, the segment as `styp` followed by its chunks
 * (the same bytes, not copied). The segmenter decided every cut; this only writes. A segment's
 * `styp` and chunks are written one after the other into one growing block (core/block-writer.ts),
 * so the segment is one contiguous buffer.
 */
import type { ChunkSink, FrameGroup, SegmentEnd, TrackConfig } from '../../core/chunks.js';
import { rehomeFrameData, type Frame, type TrackKind } from '../../core/media.js';
import type { CmafPart, SegmentSink } from './cmaf.js';
import { buildFragment, buildSegmentHeader, type FragmentSample } from './fragment.js';
import { buildInitSegment } from './init.js';
import { needsRollGroup } from './audio-entry.js';
import { BlockWriter, joinAdjacent } from '../../core/block-writer.js';
import { GatewayError } from '../../core/errors.js';
import { nalSubsamples, patternOf, type CencProtection, type Subsample } from './cenc.js';
import type { FragmentProtection } from './fragment.js';

const STYP = buildSegmentHeader();

export class CmafMuxer implements ChunkSink {
  readonly kind: TrackKind;
  private readonly sink: SegmentSink;
  /** mfhd sequence_number: increments with every fragment of the track (ISO/IEC 14496-12 §8.8.5). */
  private fragmentSequence = 1;
  private parts: CmafPart[] = [];
  /** Where this track's `styp`s and chunks are written, a block per segment. */
  private readonly blocks = new BlockWriter();
  /** The `styp` of the segment in progress, in its block just ahead of its first chunk. */
  private styp: Uint8Array = STYP;
  /** The track's binding wants a 'roll' sbgp in every fragment (Opus, mux/fmp4/audio-entry.ts). */
  private rollGroup = false;
  /** Common Encryption of the stream ('cbcs', cenc.ts), when its config asks for it. */
  private readonly protection: CencProtection | undefined;
  /** How the current configuration's samples are protected (pattern, and the NAL layout for maps). */
  private sampleProtection: { pattern: FragmentProtection['pattern']; nal?: { lengthSize: number; codec: 'avc' | 'hevc' } } | undefined;

  constructor(kind: TrackKind, sink: SegmentSink, protection?: CencProtection) {
    this.kind = kind;
    this.sink = sink;
    this.protection = protection;
  }

  onConfig(config: TrackConfig): void {
    const track = config.track;
    this.sampleProtection = undefined;
    this.rollGroup = needsRollGroup(track);
    // buildInitSegment refuses a codec the scheme does not cover: never a clear track in a protected stream.
    const bytes = buildInitSegment(track, { protection: this.protection });
    if (this.protection) {
      const nal = track.kind === 'video' && (track.codec === 'avc' || track.codec === 'hevc') ? { lengthSize: track.nalLengthSize, codec: track.codec } : undefined;
      this.sampleProtection = { pattern: patternOf(track), nal };
    }
    this.sink.onInit({ kind: config.kind, id: config.id, track, bytes });
  }

  private protectionOf(samples: readonly FragmentSample[]): FragmentProtection | undefined {
    const how = this.sampleProtection;
    if (!this.protection) return undefined;
    // Fail closed: a protected stream whose configuration could not be protected writes nothing clear.
    if (!how) throw new GatewayError('mux.fmp4', 'a protected track has no protectable configuration', { kind: this.kind });
    const nal = how.nal;
    const maps: (Subsample[] | undefined)[] = samples.map((s) => (nal ? nalSubsamples(s.data, nal.lengthSize, nal.codec) : undefined));
    return { key: this.protection, pattern: how.pattern, maps };
  }

  onGroup(group: FrameGroup): void {
    const { frames, durations } = group;
    const samples: FragmentSample[] = new Array(frames.length);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      samples[i] = { duration: durations[i]!, key: f.key, compositionOffset: f.pts - f.dts, data: f.data };
    }
    if (group.index === 0) {
      this.blocks.startBlock();
      this.styp = this.blocks.allocate(STYP.byteLength);
      this.styp.set(STYP);
    }
    // Before the event boxes are taken: a track that cannot be protected throws here, and the
    // events then stay pending.
    const protection = this.protectionOf(samples);
    let bytes: Uint8Array | undefined;
    const allocate = (size: number): Uint8Array => {
      // Timed metadata goes ahead of the chunk's moof (CMAF §7.4.5), in the same range. Taken
      // here, once buildFragment has checked the group: a group it refuses leaves them pending.
      const events = this.sink.takeEventBoxes?.();
      bytes = this.blocks.allocate((events?.byteLength ?? 0) + size);
      if (!events) return bytes;
      bytes.set(events);
      return bytes.subarray(events.byteLength);
    };
    buildFragment({ kind: group.kind, sequenceNumber: this.fragmentSequence++, baseMediaDecodeTime: group.startTime, samples, rollGroup: this.rollGroup, protection }, allocate);
    if (!bytes) throw new GatewayError('mux.fmp4', 'the fragment was not written', { kind: group.kind });
    // The frames now live in the part: clear samples are its mdat, the last bytes it has.
    if (!this.protection) rehomeFrames(frames, bytes);
    const { configId, durations: _durations, ...timing } = group;
    const part: CmafPart = { ...timing, initId: configId, bytes };
    if (group.index === 0) this.parts = [];
    this.parts.push(part);
    this.sink.onPart(part);
  }

  onSegmentEnd(segment: SegmentEnd): void {
    const parts = this.parts;
    this.parts = [];
    if (parts.length === 0) return;
    const pieces: Uint8Array[] = [parts[0]!.index === 0 ? this.styp : STYP];
    let byteLength = STYP.byteLength;
    for (const p of parts) {
      pieces.push(p.bytes);
      byteLength += p.bytes.byteLength;
    }
    const chunks = joinAdjacent(pieces);
    this.blocks.noteBlock(byteLength);
    this.sink.onSegment({
      kind: segment.kind,
      sequence: segment.sequence,
      startTime: segment.startTime,
      duration: segment.duration,
      timescale: segment.timescale,
      initId: segment.configId,
      discontinuity: segment.discontinuity,
      chunks,
      byteLength,
      parts,
      wallclock: segment.wallclock,
    });
  }
}

/** Moves each frame's bytes to its sample in `part`, whose mdat payload ends the part. */
function rehomeFrames(frames: readonly Frame[], part: Uint8Array): void {
  let payload = 0;
  for (const f of frames) payload += f.data.byteLength;
  let at = part.byteLength - payload;
  for (const f of frames) {
    const end = at + f.data.byteLength;
    rehomeFrameData(f, part.subarray(at, end));
    at = end;
  }
}
