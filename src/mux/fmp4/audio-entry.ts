/**
 * The audio sample entry of a CMAF header, per codec binding, and what else the binding asks of
 * the track:
 *
 *   AAC    mp4a > esds                  ISO/IEC 14496-14 §5.6
 *   Opus   Opus > dOps                  Opus-in-ISOBMFF v1.0.0 §4.3.1, §4.3.2; plus an edit list
 *                                       trimming the pre-skip (§4.4) and the 'roll' sample group of
 *                                       80 ms pre-roll (§4.3.6.2); brand 'Opus' (§4.1)
 *   FLAC   fLaC > dfLa                  FLAC-in-ISOBMFF §3.3.1, §3.3.2
 *   AC-3   ac-3 > dac3                  ETSI TS 102 366 §F.3, §F.4
 *   E-AC-3 ec-3 > dec3                  ETSI TS 102 366 §F.5, §F.6
 */
import type { AudioTrack, Track } from '../../core/media.js';
import { flacDflaPayload, flacSampleEntryRate, parseFlacConfig } from '../../codec/flac.js';
import { OPUS_PREROLL_SAMPLES, OPUS_SAMPLE_RATE, opusDopsPayload, parseOpusHead } from '../../codec/opus.js';
import { audioSampleEntry, edtsWithMediaTime, emptyRollSampleToGroup, esds, mp4aSampleEntry, rawBox, rollSampleGroupDescription } from './boxes.js';

export interface AudioEntry {
  /** The stsd entry. */
  readonly sampleEntry: Uint8Array;
  /** Boxes after stco in stbl (sample groups). */
  readonly sampleGroups: readonly Uint8Array[];
  /** The trak's edts, when the binding wants one. */
  readonly edit?: Uint8Array;
  /** Compatible brands the binding defines. */
  readonly brands: readonly string[];
  /** Every fragment carries an sbgp putting its samples in the 'roll' group (Opus §4.3.6.2). */
  readonly rollGroup: boolean;
}

/** Whether every fragment of the track carries the 'roll' sbgp (Opus-in-ISOBMFF §4.3.6.2). */
export function needsRollGroup(track: Track): boolean {
  return track.kind === 'audio' && track.codec === 'opus';
}

/** `sampleRate` as the 16-bit integer part of AudioSampleEntry's samplerate (0 when it does not fit). */
const fitting = (rate: number): number => (rate <= 0xffff ? rate : 0);

export function audioEntryOf(track: AudioTrack): AudioEntry {
  switch (track.codec) {
    case 'aac':
      return { sampleEntry: mp4aSampleEntry(track.channels, track.sampleRate, esds(track.config)), sampleGroups: [], brands: [], rollGroup: false };
    case 'opus': {
      const head = parseOpusHead(track.config);
      // §4.3.1: channelcount = OutputChannelCount, samplesize 16, samplerate 48000.
      const sampleEntry = audioSampleEntry('Opus', { channels: head.channels, sampleRate: OPUS_SAMPLE_RATE, sampleSize: 16 }, [rawBox('dOps', opusDopsPayload(head))]);
      const rollDistance = -Math.ceil(OPUS_PREROLL_SAMPLES / track.samplesPerFrame);
      return {
        sampleEntry,
        sampleGroups: [rollSampleGroupDescription(rollDistance), emptyRollSampleToGroup()],
        // §4.4: media_time = the priming samples; the timescale is 48 kHz, the pre-skip's own.
        edit: edtsWithMediaTime(head.preSkip),
        brands: ['Opus'],
        rollGroup: needsRollGroup(track),
      };
    }
    case 'flac': {
      const config = parseFlacConfig(track.config);
      const { channels, bitsPerSample, sampleRate } = config.streamInfo;
      const sampleEntry = audioSampleEntry('fLaC', { channels, sampleRate: flacSampleEntryRate(sampleRate), sampleSize: bitsPerSample }, [rawBox('dfLa', flacDflaPayload(config))]);
      return { sampleEntry, sampleGroups: [], brands: [], rollGroup: false };
    }
    case 'ac3':
    case 'eac3': {
      // §F.3 / §F.5: SamplingRate equals the media timescale; the box carries the real layout.
      const type = track.codec === 'ac3' ? 'ac-3' : 'ec-3';
      const sampleEntry = audioSampleEntry(type, { channels: track.channels, sampleRate: fitting(track.sampleRate), sampleSize: 16 }, [rawBox(track.codec === 'ac3' ? 'dac3' : 'dec3', track.config)]);
      return { sampleEntry, sampleGroups: [], brands: [], rollGroup: false };
    }
  }
}
