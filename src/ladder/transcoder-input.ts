/**
 * What the transcoder writes on ffmpeg's stdin, per source codec:
 *  - H.264: FLV (the container every ffmpeg reads with the least start-up delay);
 *  - HEVC, AV1, VP9: fragmented MP4, one fragment per frame (our CMAF muxer): Debian's ffmpeg 5.1
 *    reads no Enhanced RTMP FLV (6.1 does), and its mov demuxer takes fMP4 from a pipe, with
 *    tfdt as each fragment's decode time.
 * Times are relative to the run's first frame (`baseTicks`), so they start near zero for ffmpeg's
 * `-copyts`: FLV in whole milliseconds, MP4 in 90 kHz ticks.
 */
import { VIDEO_TIMESCALE, type Frame, type VideoTrack } from '../core/media.js';
import { videoFrameBody, videoSequenceHeaderBody } from '../flv/tag.js';
import { FLV_TAG_VIDEO } from '../flv/reader.js';
import { encodeFlvTag, flvHeader } from '../flv/writer.js';
import { buildFragment } from '../mux/fmp4/fragment.js';
import { buildInitSegment } from '../mux/fmp4/init.js';

const TICKS_PER_MS = VIDEO_TIMESCALE / 1000;

export interface TranscoderInput {
  /** ffmpeg's `-f` for stdin. */
  readonly format: 'flv' | 'mp4';
  /** The bytes before the first frame. */
  start(track: VideoTrack): Uint8Array[];
  /**
   * A new configuration mid-run: the bytes that carry it, or undefined when this container cannot
   * (a second moov in a fragmented MP4 stream): then the transcoder hands over to a new run
   * started from the new configuration (Transcoder.handOver).
   */
  config(track: VideoTrack, atTicks: number): Uint8Array | undefined;
  frame(frame: Frame, track: VideoTrack): Uint8Array;
}

export function transcoderInput(codec: VideoTrack['codec'], baseTicks: number): TranscoderInput {
  return codec === 'avc' ? new FlvInput(baseTicks) : new Mp4Input(baseTicks);
}

/** Milliseconds since the run's first frame, as FLV carries them. */
function relativeMs(ticks: number, baseTicks: number): number {
  return Math.max(0, Math.floor((ticks - baseTicks) / TICKS_PER_MS));
}

class FlvInput implements TranscoderInput {
  readonly format = 'flv';
  constructor(private readonly baseTicks: number) {}

  start(track: VideoTrack): Uint8Array[] {
    return [flvHeader({ audio: false, video: true }), encodeFlvTag(FLV_TAG_VIDEO, 0, videoSequenceHeaderBody(track))];
  }

  config(track: VideoTrack, atTicks: number): Uint8Array {
    return encodeFlvTag(FLV_TAG_VIDEO, relativeMs(atTicks, this.baseTicks), videoSequenceHeaderBody(track));
  }

  frame(frame: Frame, track: VideoTrack): Uint8Array {
    return encodeFlvTag(FLV_TAG_VIDEO, relativeMs(frame.dts, this.baseTicks), videoFrameBody(frame, track.codec));
  }
}

class Mp4Input implements TranscoderInput {
  readonly format = 'mp4';
  private sequence = 1;
  private lastDts: number | undefined;
  private lastDuration = 3000;

  constructor(private readonly baseTicks: number) {}

  start(track: VideoTrack): Uint8Array[] {
    return [buildInitSegment(track)];
  }

  config(): undefined {
    return undefined;
  }

  frame(frame: Frame, track: VideoTrack): Uint8Array {
    // A frame's duration is only known at the next one: the previous interval stands in (the
    // decoder goes by each fragment's tfdt; the duration only bounds the sample).
    if (this.lastDts !== undefined && frame.dts > this.lastDts) this.lastDuration = frame.dts - this.lastDts;
    else if (this.lastDts === undefined && track.fps) this.lastDuration = Math.round(VIDEO_TIMESCALE / track.fps);
    this.lastDts = frame.dts;
    return buildFragment({
      sequenceNumber: this.sequence++,
      baseMediaDecodeTime: Math.max(0, frame.dts - this.baseTicks),
      kind: 'video',
      samples: [{ duration: this.lastDuration, key: frame.key, compositionOffset: frame.pts - frame.dts, data: frame.data }],
    });
  }
}
