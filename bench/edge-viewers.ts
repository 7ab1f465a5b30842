/**
 * Simulated HLS viewers for the edge tier (bench/edge.ts, test/e2e/edge.test.ts): LL-HLS viewers
 * do what hls.js does in low-latency mode (a blocking reload for the hinted part, and the hinted
 * part, in parallel); classic viewers reload the playlist every second and fetch each new whole
 * segment. They count what they ask for, so the origin's own counters can be compared with it.
 */

export interface ViewerTally {
  requests: number;
  readonly segments: Set<string>;
  readonly parts: Set<string>;
}

export function newTally(): ViewerTally {
  return { requests: 0, segments: new Set(), parts: new Set() };
}

/** The part a playlist's preload hint names: the next one a blocking reload waits for. */
export function nextPart(playlist: string): { uri: string; msn: number; part: number } {
  const m = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(part-[0-9a-z]+-(\d+)\.(\d+)\.m4s[^"]*)"/.exec(playlist);
  if (!m) throw new Error(`no preload hint in:\n${playlist}`);
  return { uri: m[1]!, msn: Number(m[2]), part: Number(m[3]) };
}

function checked(r: Response): Response {
  if (!r.ok) throw new Error(`${r.url}: HTTP ${r.status}`);
  return r;
}

function counted(tally: ViewerTally, url: string | URL): Promise<Response> {
  tally.requests++;
  return fetch(url);
}

/** An LL-HLS viewer of media playlist `media` until `until` (Date.now() ms). */
export async function llHlsViewer(media: string, until: number, tally: ViewerTally): Promise<void> {
  let text = await checked(await counted(tally, media)).text();
  while (Date.now() < until) {
    const { uri, msn, part } = nextPart(text);
    tally.parts.add(uri);
    const [reload] = await Promise.all([
      counted(tally, `${media}?_HLS_msn=${msn}&_HLS_part=${part}`).then(checked),
      // A hinted part that never comes (the segment ended on a keyframe first) is a 404 (403
      // from a token-protected gateway tried last), as RFC 8216bis §6.2.6 allows.
      counted(tally, new URL(uri, media)).then((r) => (r.status === 404 || r.status === 403 ? r : checked(r)).arrayBuffer()),
    ]);
    text = await reload.text();
  }
}

/** A classic HLS viewer of media playlist `media` until `until`. */
export async function classicHlsViewer(media: string, until: number, tally: ViewerTally): Promise<void> {
  const fetched = new Set<string>();
  while (Date.now() < until) {
    const text = await checked(await counted(tally, media)).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith('seg-') || fetched.has(line)) continue;
      fetched.add(line);
      tally.segments.add(line);
      await checked(await counted(tally, new URL(line, media))).arrayBuffer();
    }
    // A player reloads a live playlist about every target duration; once a second here.
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `count` viewers, half LL-HLS and half classic, for `seconds`. */
export async function runViewers(media: string, count: number, seconds: number): Promise<ViewerTally> {
  const tally = newTally();
  const until = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: count }, (_, i) => (i % 2 === 0 ? llHlsViewer(media, until, tally) : classicHlsViewer(media, until, tally))));
  return tally;
}
