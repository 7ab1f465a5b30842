import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { runMintCommand } from '../../src/auth/mint-command.js';
import { PublishAuthorizer } from '../../src/auth/publish-auth.js';
import { PlaybackAuthorizer } from '../../src/auth/playback.js';

const NOW = 1_700_000_000;

describe('npm run token', () => {
  it('mints a publish token the publish authorizer accepts, and prints the URL forms', async () => {
    const r = runMintCommand(['--secret', 'S3', '--stream', 'live/cam', '--ttl', '60', '--host', 'gw.test'], {}, NOW);
    expect(r.expiresAt).toBe(NOW + 60);
    expect(r.text.split('\n')[0]).toBe(r.token);
    expect(r.text).toContain(`rtmp://gw.test/live/cam?token=${r.token}`);
    expect(r.text).toContain(`Server rtmp://gw.test/live   Stream Key cam?token=${r.token}`);
    const auth = new PublishAuthorizer({ mode: 'token', secret: 'S3' });
    expect(await auth.authorize({ app: 'live', key: 'cam', query: `token=${r.token}`, ip: '::1' }, NOW)).toEqual({ ok: true });
    expect((await auth.authorize({ app: 'live', key: 'cam', query: `token=${r.token}`, ip: '::1' }, NOW + 60)).ok).toBe(false);
  });

  it('--play mints a playback token and prints the playback URLs; the secret may come from the environment', () => {
    const r = runMintCommand(['--play', '--stream', 'live/cam', '--host', 'gw.test'], { PLAYBACK_SECRET: 'P' }, NOW);
    expect(r.expiresAt).toBe(NOW + 3600);
    expect(r.text).toContain(`http://gw.test:8000/live/cam/index.m3u8?token=${r.token}`);
    expect(r.text).toContain(`http://gw.test:8000/live/cam/index.mpd?token=${r.token}`);
    expect(r.text).toContain(`http://gw.test:8000/live/cam.flv?token=${r.token}`);
    expect(new PlaybackAuthorizer({ secret: 'P', ttlSeconds: 1 }).check('live', 'cam', r.token, NOW)).toBe(true);
    expect(runMintCommand(['--stream', 'live/cam'], { PUBLISH_SECRET: 'S' }, NOW).token).toMatch(/^\d+\./);
  });

  it('refuses bad arguments with GatewayError', () => {
    expect(() => runMintCommand(['--stream', 'live/cam'], {}, NOW)).toThrow(GatewayError);
    expect(() => runMintCommand(['--secret', 's', '--stream', 'cam'], {}, NOW)).toThrow(GatewayError);
    expect(() => runMintCommand(['--secret', 's', '--stream', 'live/a/b'], {}, NOW)).toThrow(GatewayError);
    expect(() => runMintCommand(['--secret', 's', '--stream', 'live/cam', '--ttl', '0'], {}, NOW)).toThrow(GatewayError);
    expect(() => runMintCommand(['--secret', 's', '--stream', 'live/cam', '--ttl', '1.5'], {}, NOW)).toThrow(GatewayError);
    expect(() => runMintCommand(['--secret', 's', '--stream', 'live/cam', '--bogus'], {}, NOW)).toThrow(GatewayError);
  });
});
