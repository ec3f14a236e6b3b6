import { Interner } from '../../src/core/objects.js';

describe('Interner', () => {
  test('gives one frozen instance for equal JSON values and keeps different ones apart', () => {
    const parts = new Interner();
    const a = parts.intern({ podSelector: {}, policyTypes: ['Ingress'] });
    const b = parts.intern({ podSelector: {}, policyTypes: ['Ingress'] });
    const c = parts.intern({ podSelector: {}, policyTypes: ['Egress'] });
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(c).toEqual({ podSelector: {}, policyTypes: ['Egress'] });
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.policyTypes)).toBe(true);
    expect(parts.intern(undefined)).toBeUndefined();
    expect(parts.size).toBe(2);
  });
});
