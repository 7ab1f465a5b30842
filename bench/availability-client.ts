/**
 * The availability bench's HTTP client, in its own process so that the time it reads is not
 * held up by the gateway's own work on the same event loop. Prints one JSON line per answer.
 * Usage: tsx bench/availability-client.ts BASE_URL SESSION SECONDS FIRST_MSN
 */
import http from 'node:http';

const [base, session, secondsText, firstText] = process.argv.slice(2);
const deadline = performance.now() + Number(secondsText) * 1000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function get(url: string): Promise<{ status: number; body: string; at: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, at: performance.timeOrigin + performance.now() }));
      })
      .on('error', reject);
  });
}

/** The newest part listed: the LAST-MSN/LAST-PART a player would ask after. */
function edge(body: string): { msn: number; part: number } {
  const parts = [...body.matchAll(/part-[0-9a-z]+-(\d+)\.(\d+)\.m4s/g)].map((m) => ({ msn: Number(m[1]), part: Number(m[2]) }));
  const last = parts.filter((p) => !body.includes(`PRELOAD-HINT:TYPE=PART,URI="part-${session}-${p.msn}.${p.part}.m4s"`)).pop();
  return last ?? { msn: 0, part: -1 };
}

async function segments(): Promise<void> {
  let next = Number(firstText);
  while (performance.now() < deadline) {
    const r = await get(`${base}/src/index.m3u8?_HLS_msn=${next}`);
    if (r.status !== 200) continue;
    if (r.body.includes(`seg-${session}-${next}.m4s`)) console.log(JSON.stringify({ kind: 'segment', key: `${next + 1}.0`, at: r.at }));
    next++;
  }
}

async function parts(): Promise<void> {
  let body = (await get(`${base}/src/index.m3u8`)).body;
  let { msn, part } = edge(body);
  while (performance.now() < deadline) {
    // After the last part of a completed segment comes part 0 of the next one.
    const want = body.includes(`seg-${session}-${msn}.m4s`) ? { msn: msn + 1, part: 0 } : { msn, part: part + 1 };
    const r = await get(`${base}/src/index.m3u8?_HLS_msn=${want.msn}&_HLS_part=${want.part}`);
    if (r.status !== 200) continue;
    console.log(JSON.stringify({ kind: 'part', msn: want.msn, part: want.part, at: r.at }));
    body = r.body;
    ({ msn, part } = edge(r.body));
  }
}

await Promise.all([segments(), parts()]);
agent.destroy();
