/**
 * SRT ingest's standby (src/srt/srt-ingest.ts): no libsrt process runs until a caller comes; the
 * caller's handshake wakes the relay, which takes the port, and the publish goes through; a relay
 * with no caller for the idle time stops and the port goes back to standby, and the next caller
 * wakes it again. Real ffmpeg SRT callers, the real relay.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { PublishPath } from '../../src/core/publish.js';
import { StreamRegistry, type LiveStream } from '../../src/core/stream.js';
import { SrtIngest } from '../../src/srt/srt-ingest.js';
import { fixture } from '../helpers/fixtures.js';
import { freeUdpPort, srtMissing } from '../helpers/srt.js';
import { ffmpegPath } from '../helpers/tools.js';

const missing = await srtMissing('SRT ingest standby tests');

/** srt-relay children of this process. */
function relayChildren(): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && args[0]?.endsWith('srt-relay')) n++;
    } catch {
      // ended meanwhile
    }
  }
  return n;
}

const ingests: SrtIngest[] = [];
afterEach(async () => {
  for (const i of ingests.splice(0)) await i.stop();
});

describe.skipIf(missing !== undefined)('SRT ingest standby', () => {
  it('no relay until a caller; the caller wakes it and publishes; idle goes back to standby; the next caller wakes it again', async () => {
    const registry = new StreamRegistry();
    const ingest = new SrtIngest({
      publishPath: new PublishPath({ registry }),
      logger: silentLogger(),
      port: await freeUdpPort(),
      host: '127.0.0.1',
      latencyMs: 120,
      maxConnections: 4,
      maxConnectionsPerIp: 4,
      relayIdleMs: 300,
    });
    ingests.push(ingest);
    const port = await ingest.start();
    expect(ingest.relayRunning).toBe(false);
    expect(relayChildren()).toBe(0);

    for (const key of ['first', 'second']) {
      const published = new Promise<LiveStream>((resolve) => registry.on('publish', (s) => s.key === key && resolve(s)));
      const woke = once(ingest, 'state');
      const caller = spawn('timeout', ['-k', '5', '60', ffmpegPath(), '-v', 'error', '-nostdin', '-re', '-i', await fixture('av360p-short'), '-t', '2', '-c', 'copy', '-f', 'mpegts', `srt://127.0.0.1:${port}?streamid=live/${key}`], { stdio: 'ignore' });
      expect(await woke).toEqual(['relay']);
      expect(relayChildren()).toBe(1);
      await published;
      const asleep = once(ingest, 'state');
      const [code] = (await once(caller, 'exit')) as [number | null];
      expect(code).toBe(0);
      // The caller is gone: after the idle time the relay stops and the port is held again.
      expect(await asleep).toEqual(['standby']);
      expect(ingest.relayRunning).toBe(false);
      expect(relayChildren()).toBe(0);
    }
  }, 90_000);
});
