/**
 * The audio renditions a stream offers, as players list them: the stream's audio track first,
 * then its alternative audio renditions (StreamOutput.audioRenditions), each with its language
 * and a name unique in the group. The HLS audio group (RFC 8216bis §4.4.6.1 EXT-X-MEDIA: NAME,
 * LANGUAGE, DEFAULT) and the DASH audio AdaptationSets (@lang, Role) are both made from it.
 * Pure.
 */
import { isLanguage } from '../core/audio-renditions.js';
import type { AudioTrack } from '../core/media.js';
import type { TrackOutput } from './track-output.js';

export interface AudioGroupEntry {
  readonly output: TrackOutput;
  readonly track: AudioTrack;
  /** ISO 639-2 code of the audio's language; `und` when the ingest did not say. */
  readonly language: string;
  /**
   * The same language as an RFC 5646 tag, what HLS LANGUAGE (RFC 8216bis §4.4.6.1) and DASH
   * @lang (ISO/IEC 23009-1 §5.3.3.2) take: the ISO 639-1 code where there is one (`eng` → `en`).
   */
  readonly languageTag: string;
  /** A human-readable name, unique in the group: `English`, `French`, `Audio 2`, `English (2)`. */
  readonly name: string;
  /** The first entry: HLS DEFAULT=YES, DASH Role `main` (the others are `alternate`). */
  readonly isDefault: boolean;
}

/** What of a StreamOutput the group is made from. */
export interface AudioSources {
  readonly audio: TrackOutput;
  readonly audioRenditions: ReadonlyMap<string, TrackOutput>;
}

/**
 * The entries, in order: the stream's audio (when it has a track), then the alternatives in the
 * order they appeared. A stream with one audio track and no known language keeps the name
 * `audio` it always had.
 */
export function audioGroupOf(sources: AudioSources): AudioGroupEntry[] {
  const outputs = [sources.audio, ...sources.audioRenditions.values()];
  const withTracks: { output: TrackOutput; track: AudioTrack }[] = [];
  for (const output of outputs) if (output.track?.kind === 'audio') withTracks.push({ output, track: output.track });
  if (withTracks.length === 1 && !isLanguage(withTracks[0]!.output.language)) {
    const { output, track } = withTracks[0]!;
    return [{ output, track, language: 'und', languageTag: 'und', name: 'audio', isDefault: true }];
  }
  const seen = new Map<string, number>();
  return withTracks.map(({ output, track }, i) => {
    const language = isLanguage(output.language) ? output.language : 'und';
    const base = language === 'und' ? `Audio ${i + 1}` : languageName(language);
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return { output, track, language, languageTag: languageTagOf(language), name: count === 1 ? base : `${base} (${count})`, isDefault: i === 0 };
  });
}

/**
 * RFC 5646 tag of an ISO 639-2 code: Intl's canonical form maps the 3-letter codes that have a
 * 2-letter one (`eng`, `fre`/`fra`, `ger`/`deu`) to it and keeps the rest (`yue`, `und`).
 */
export function languageTagOf(code: string): string {
  try {
    return Intl.getCanonicalLocales(code)[0] ?? code;
  } catch {
    return code;
  }
}

let displayNames: Intl.DisplayNames | null | undefined;

/** The English name of an ISO 639-2 language (`fra` → `French`); the code itself where none is known. */
export function languageName(code: string): string {
  if (displayNames === undefined) {
    try {
      displayNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'code' });
    } catch {
      // A Node built without ICU data: the codes are the names.
      displayNames = null;
    }
  }
  try {
    return displayNames?.of(code) ?? code;
  } catch {
    return code;
  }
}
