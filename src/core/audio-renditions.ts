/**
 * Alternative audio renditions: a publish that carries several audio tracks (an MPEG-TS program
 * with English and French commentary) offers every one of them. The first audio track is the
 * stream's audio (rendition `audio`, the one RTMP play, HTTP-FLV and MPEG-TS HLS carry); every
 * further one is an alternative rendition with an id of its own, which names it in URLs
 * (`/APP/KEY/audio-fra/index.m3u8`). Pure.
 *
 * Ids follow from the program alone (the audio tracks' languages in their declared order), so a
 * publisher that reconnects with the same program continues the same renditions:
 *   - `audio-LLL` for the first alternative track in language LLL (ISO 639-2, ISO/IEC 13818-1
 *     §2.6.18 ISO_639_language_descriptor), unless LLL is a code that names no language;
 *   - `audio-N` otherwise (no language, `und`, or a language an earlier alternative already has),
 *     N = the track's place among the program's audio tracks, counting from 1 (so the second
 *     audio track is `audio-2`; the first is always `audio`).
 */

/** The first audio track's rendition id. */
export const MAIN_AUDIO_RENDITION = 'audio';

/** Audio tracks carried per stream, the first one included; further ones are dropped with a warning. */
export const MAX_AUDIO_RENDITIONS = 8;

/**
 * ISO 639-2 codes that name no particular language: undetermined, uncoded, multiple, no
 * linguistic content, and the local-use range qaa–qtz.
 */
const NOT_A_LANGUAGE = /^(und|mis|mul|zxx|q[a-t][a-z])$/;

/** An ISO 639-2 code that names a language (three lowercase letters, not `und` and the like). */
export function isLanguage(code: string | undefined): code is string {
  return code !== undefined && /^[a-z]{3}$/.test(code) && !NOT_A_LANGUAGE.test(code);
}

/**
 * Rendition ids of a program's audio tracks, in their declared order (`languages[i]` is the i-th
 * audio track's ISO 639-2 code, if any): `audio` for the first, then as the module doc says;
 * `undefined` for tracks beyond MAX_AUDIO_RENDITIONS.
 */
export function audioRenditionIds(languages: readonly (string | undefined)[]): (string | undefined)[] {
  const taken = new Set<string>([MAIN_AUDIO_RENDITION]);
  return languages.map((language, i) => {
    if (i >= MAX_AUDIO_RENDITIONS) return undefined;
    if (i === 0) return MAIN_AUDIO_RENDITION;
    const id = isLanguage(language) && !taken.has(`audio-${language}`) ? `audio-${language}` : `audio-${i + 1}`;
    taken.add(id);
    return id;
  });
}

/** Whether a rendition id names an audio rendition (the first audio track's or an alternative). */
export function isAudioRendition(id: string): boolean {
  return id === MAIN_AUDIO_RENDITION || id.startsWith(`${MAIN_AUDIO_RENDITION}-`);
}
