/** NetConnection and NetStream commands, parsed and built side by side (golden values both ways). */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { decodeAmf0, encodeAmf0 } from '../../src/flv/amf0.js';
import { callError, callResult, connectResult, parseConnect } from '../../src/rtmp/net-connection.js';
import { onStatus, parseStreamNameCommand } from '../../src/rtmp/net-stream.js';

describe('NetConnection commands', () => {
  it('parses connect as OBS (librtmp) and ffmpeg send it: app query split off, trailing slashes trimmed', () => {
    // librtmp: { app, flashVer, swfUrl, tcUrl, fpad, capabilities, audioCodecs, videoCodecs, videoFunction }
    const values = decodeAmf0(encodeAmf0('connect', 1, { app: 'live/?token=abc', type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; FMSc/1.0)', tcUrl: 'rtmp://host/live?token=abc' }));
    expect(parseConnect(values)).toEqual({ txn: 1, app: 'live', appQuery: 'token=abc', tcUrl: 'rtmp://host/live', enhanced: false });
    expect(parseConnect(decodeAmf0(encodeAmf0('connect', 1, null)))).toEqual({ txn: 1, app: '', appQuery: '', tcUrl: '', enhanced: false });
    // OBS 30+ (Enhanced RTMP v2): the codecs it can send.
    const obs = decodeAmf0(encodeAmf0('connect', 1, { app: 'live', fourCcList: ['av01', 'vp09', 'hvc1', 'avc1'], videoFourCcInfoMap: { av01: 2, hvc1: 2 }, capsEx: 0 }));
    expect(parseConnect(obs).enhanced).toBe(true);
    expect(() => parseConnect(decodeAmf0(encodeAmf0('connect', 1, { app: 'x'.repeat(2000) })))).toThrow(GatewayError);
  });

  it('builds _result / _error / connect result bodies that decode to what clients read', () => {
    expect(decodeAmf0(callResult(2, 1))).toEqual(['_result', 2, null, 1]);
    expect(decodeAmf0(callError(5, 'NetConnection.Call.Failed', 'Method not found (x)'))).toEqual([
      '_error', 5, null, { level: 'error', code: 'NetConnection.Call.Failed', description: 'Method not found (x)' },
    ]);
    const [name, txn, props, info] = decodeAmf0(connectResult(1));
    expect([name, txn]).toEqual(['_result', 1]);
    expect(props).toMatchObject({ fmsVer: 'FMS/3,5,7,7009', capabilities: 31 });
    expect(info).toMatchObject({ level: 'status', code: 'NetConnection.Connect.Success', objectEncoding: 0 });
    expect(props).not.toHaveProperty('fourCcList');
    // An Enhanced RTMP client is told what the server takes (E-RTMP v2, FourCcInfoMask CanForward 0x04).
    const [, , enhanced] = decodeAmf0(connectResult(1, true));
    expect(enhanced).toMatchObject({ fmsVer: 'FMS/3,5,7,7009', fourCcList: ['avc1', 'hvc1', 'av01', 'vp09', 'mp4a', 'Opus', 'fLaC', 'ac-3', 'ec-3'], capsEx: 6 });
    expect((enhanced as { videoFourCcInfoMap: Record<string, number> }).videoFourCcInfoMap['av01']! & 0x04).toBe(0x04);
  });
});

describe('NetStream commands', () => {
  it('publish and play names with their query (keys and tokens) split off', () => {
    expect(parseStreamNameCommand(decodeAmf0(encodeAmf0('publish', 5, null, 'KEY?key=SECRET', 'live')))).toEqual({ txn: 5, name: 'KEY', query: 'key=SECRET' });
    expect(parseStreamNameCommand(decodeAmf0(encodeAmf0('play', 0, null, 'KEY', -2000)))).toEqual({ txn: 0, name: 'KEY', query: '' });
    expect(parseStreamNameCommand(decodeAmf0(encodeAmf0('play', 0, null)))).toEqual({ txn: 0, name: '', query: '' });
  });

  it('onStatus carries level, code, description and details', () => {
    expect(decodeAmf0(onStatus('error', 'NetStream.Publish.BadName', 'taken'))).toEqual([
      'onStatus', 0, null, { level: 'error', code: 'NetStream.Publish.BadName', description: 'taken', details: 'taken' },
    ]);
  });
});
