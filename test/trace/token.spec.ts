/** Replay tokens: round trip, corruption and foreign input are clear errors. */
import { describe, expect, it } from 'vitest';
import { decodeToken, encodeToken, TokenError } from '../../src/trace/token.ts';

const data = { scenario: 's', kernel: '6.5', arch: 'arm64', mutant: null, schedule: [0, 0, 0, 1, 2, 2, 0], values: [-1, -1, -1, -1, 1, -1, -1], source: 'abcd1234' };

describe('replay tokens', () => {
  it('round-trip the schedule, the choice values and the options', () => {
    const t = encodeToken({ ...data, tableFree: 'rcu' });
    expect(t).toMatch(/^gc1:s:6\.5:arm64:-:tf=rcu:0x3,1,2v1,2,0:abcd1234:[0-9a-f]{6}$/);
    expect(decodeToken(t)).toMatchObject({ ...data, tableFree: 'rcu' });
  });
  it('contain only shell-safe characters', () => {
    expect(encodeToken({ ...data, mutant: 'no-read-once' })).toMatch(/^[A-Za-z0-9_.,:=-]+$/);
  });
  it('refuse a corrupted token', () => {
    const t = encodeToken(data);
    expect(() => decodeToken(t.replace('0x3', '0x4'))).toThrow(/corrupted/);
    expect(() => decodeToken(t.slice(0, -3))).toThrow(TokenError);
  });
  it('refuse something that is not a token', () => {
    expect(() => decodeToken('hello')).toThrow(/not a gupcheck replay token/);
    expect(() => decodeToken('gc1:a:b')).toThrow(/9 fields/);
  });
});
