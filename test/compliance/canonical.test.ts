/** Canonical JSON: one byte form per value, so that every store hashes an entry alike. */
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/compliance/canonical.js';

describe('canonical JSON', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: 'y' }], é: 'é', A: 0 })).toBe(
      '{"A":0,"a":[true,null,{"c":"y","d":"x"}],"b":1,"é":"é"}',
    );
  });

  it('gives the same text for the same value built in another order', () => {
    const one = { outcome: 'done', stripped: { time: 1, location: 2 }, actor: 'cli' };
    const two = { actor: 'cli', stripped: { location: 2, time: 1 }, outcome: 'done' };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
    expect(canonicalJson(JSON.parse(canonicalJson(one)))).toBe(canonicalJson(one));
  });

  it('leaves out undefined fields and refuses what JSON cannot carry exactly', () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
    for (const value of [1.5, Number.NaN, 2 ** 60, new Date(0), () => 1, Symbol('s')])
      expect(() => canonicalJson({ value })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
  });
});
