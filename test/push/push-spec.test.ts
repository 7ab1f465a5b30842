/** Push target specs and URLs: what is accepted, what is refused, and what is shown. */
import { describe, expect, it } from 'vitest';
import { checkPushSpec } from '../../src/push/push-manager.js';
import { redactPushUrl } from '../../src/push/push-target.js';
import { parseSrtTarget } from '../../src/push/srt-push.js';
import { parseRtmpUrl } from '../../src/rtmp/client.js';

describe('push targets', () => {
  it('reads rtmp:// and rtmps:// URLs: the last path element is the key, with its query', () => {
    expect(parseRtmpUrl('rtmp://a.rtmp.youtube.com/live2/abcd-efgh')).toEqual({ host: 'a.rtmp.youtube.com', port: 1935, app: 'live2', key: 'abcd-efgh' });
    expect(parseRtmpUrl('rtmps://live-api-s.facebook.com:443/rtmp/FB-1?s_bl=1&a=b')).toEqual({ host: 'live-api-s.facebook.com', port: 443, app: 'rtmp', key: 'FB-1?s_bl=1&a=b', tls: true });
    expect(parseRtmpUrl('rtmps://host/app/inst/key')).toMatchObject({ port: 443, app: 'app/inst', key: 'key' });
    expect(() => parseRtmpUrl('rtmp://host/onlyapp')).toThrow(/APP\/KEY/);
    expect(() => parseRtmpUrl('http://host/a/b')).toThrow(/rtmp/);
  });

  it('accepts a URL and the source rendition; refuses the rest with a reason and without the URL', () => {
    expect(checkPushSpec({ url: 'rtmp://h/live/k' })).toEqual({ url: 'rtmp://h/live/k', rendition: 'src' });
    expect(checkPushSpec({ url: 'rtmps://h/live/k', rendition: 'src' })).toEqual({ url: 'rtmps://h/live/k', rendition: 'src' });
    expect(checkPushSpec({ url: 'rtmp://h/live/k', rendition: '360p' })).toEqual({ url: 'rtmp://h/live/k', rendition: '360p' });
    expect(() => checkPushSpec({ url: 'rtmp://h/live/k', rendition: '../x' })).toThrow(/rendition name/);
    expect(() => checkPushSpec({ url: 'rtmp://h/live/k', rendition: 360 })).toThrow(/rendition name/);
    // SRT targets: host and port, the query passed to ffmpeg's srt protocol as it is.
    expect(checkPushSpec({ url: 'srt://h:9000?streamid=live/k&passphrase=0123456789' })).toEqual({ url: 'srt://h:9000?streamid=live/k&passphrase=0123456789', rendition: 'src' });
    expect(() => checkPushSpec({ url: 'srt://h' })).toThrow(/srt:\/\/HOST:PORT/);
    expect(() => checkPushSpec({ url: 'srt://h:9000/x y' })).toThrow(/srt:\/\/HOST:PORT/);
    expect(() => checkPushSpec({ url: 'udp://h:9000' })).toThrow(/rtmp/);
    expect(() => checkPushSpec({})).toThrow(/url/);
    expect(() => checkPushSpec(null)).toThrow(/url/);
    expect(() => checkPushSpec({ url: 'rtmp://h/onlyapp-secret' })).not.toThrow(/onlyapp-secret/);
  });

  it('never shows a stream key', () => {
    expect(redactPushUrl('rtmp://a.rtmp.youtube.com/live2/abcd-efgh')).toBe('rtmp://a.rtmp.youtube.com/live2/…');
    expect(redactPushUrl('rtmps://h:443/rtmp/FB-1?s_bl=1')).toBe('rtmps://h:443/rtmp/…');
    expect(redactPushUrl('srt://h:9000?streamid=live/k&passphrase=0123456789')).toBe('srt://h:9000?…');
    expect(redactPushUrl('srt://h:9000')).toBe('srt://h:9000');
    expect(redactPushUrl('nonsense')).toBe('(invalid URL)');
  });
});

describe('SRT target URLs', () => {
  it('take ffmpeg\'s srt options: streamid, passphrase, pbkeylen, latency in microseconds', () => {
    expect(parseSrtTarget('srt://example.com:9000?streamid=%23!%3A%3Ar%3Dlive%2Fk%2Cm%3Dpublish&passphrase=0123456789ab&latency=200000&pbkeylen=32')).toEqual({
      host: 'example.com',
      port: 9000,
      streamId: '#!::r=live/k,m=publish',
      passphrase: '0123456789ab',
      latencyMs: 200,
      pbkeylen: 32,
    });
    expect(parseSrtTarget('srt://[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseSrtTarget('srt://h:9000?pbkeylen=7&latency=x')).toEqual({ host: 'h', port: 9000 });
  });
});
