import { describe, expect, test } from '@jest/globals';
import { MEMBER_LABEL } from '../../src/api/constants.js';
import { namespaceKey, parseKey, tenantKey } from '../../src/controller/keys.js';
import { OwnWrites } from '../../src/controller/overlay.js';
import {
  memberLabelChanged,
  namespacePlanInputChanged,
  namespaceRecreated,
  podCountDelta,
  podExposureChanged,
  sameLabels,
  tenantStatusOnly,
} from '../../src/controller/predicates.js';
import type { Change } from '../../src/runtime/informer.js';

type Obj = { metadata: { name: string; uid?: string; generation?: number; labels?: Record<string, string> } };
const obj = (labels?: Record<string, string>, uid = 'u1', generation = 1): Obj => ({ metadata: { name: 'x', uid, generation, ...(labels ? { labels } : {}) } });
const up = (old: Obj | undefined, object: Obj): Change<Obj> => (old ? { type: 'upsert', object, old } : { type: 'upsert', object });

describe('event predicates', () => {
  test('a tenant change with the same uid and generation is a status write', () => {
    expect(tenantStatusOnly(up(obj(), obj()))).toBe(true);
    expect(tenantStatusOnly(up(obj(undefined, 'u1', 1), obj(undefined, 'u1', 2)))).toBe(false);
    expect(tenantStatusOnly(up(obj(undefined, 'u1', 1), obj(undefined, 'u2', 1)))).toBe(false);
    expect(tenantStatusOnly(up(undefined, obj()))).toBe(false);
    expect(tenantStatusOnly({ type: 'delete', object: obj() })).toBe(false);
  });

  test("a namespace's plan input is its labels but the member label, and its uid", () => {
    const a = { team: 'a' };
    expect(namespacePlanInputChanged(up(obj(a), obj({ ...a, [MEMBER_LABEL]: 'a' })))).toBe(false);
    expect(namespacePlanInputChanged(up(obj(a), obj(a)))).toBe(false);
    expect(namespacePlanInputChanged(up(obj(a), obj({ team: 'b' })))).toBe(true);
    expect(namespacePlanInputChanged(up(obj(a), obj({ ...a, extra: '' })))).toBe(true);
    expect(namespacePlanInputChanged(up(obj(a), obj(a, 'u2')))).toBe(true);
    expect(namespacePlanInputChanged(up(undefined, obj(a)))).toBe(true);
    expect(namespacePlanInputChanged({ type: 'delete', object: obj(a) })).toBe(true);
    expect(namespacePlanInputChanged({ type: 'resync', object: obj(a) })).toBe(false);
  });

  test('member label changes and recreated namespaces are told apart', () => {
    expect(memberLabelChanged(up(obj({}), obj({ [MEMBER_LABEL]: 'a' })))).toBe(true);
    expect(memberLabelChanged(up(obj({ [MEMBER_LABEL]: 'a' }), obj({ [MEMBER_LABEL]: 'a', x: 'y' })))).toBe(false);
    expect(memberLabelChanged(up(undefined, obj({ [MEMBER_LABEL]: 'a' })))).toBe(true);
    expect(memberLabelChanged(up(undefined, obj({})))).toBe(false);
    expect(memberLabelChanged({ type: 'delete', object: obj({ [MEMBER_LABEL]: 'a' }) })).toBe(false);
    expect(namespaceRecreated(up(obj({}, 'u1'), obj({}, 'u2')))).toBe(true);
    expect(namespaceRecreated(up(obj({}, 'u1'), obj({ a: 'b' }, 'u1')))).toBe(false);
    expect(namespaceRecreated(up(undefined, obj({}, 'u2')))).toBe(false);
  });

  test('only exposure labels of pods feed the plan', () => {
    const exposed = { 'netfence.dev/expose-web': 'true' };
    expect(podExposureChanged(up(undefined, obj({ app: 'x' })))).toBe(false);
    expect(podExposureChanged(up(undefined, obj(exposed)))).toBe(true);
    expect(podExposureChanged(up(obj(exposed), obj(exposed)))).toBe(false);
    expect(podExposureChanged(up(obj(exposed), obj({})))).toBe(true);
    expect(podExposureChanged(up(obj({}), obj({ 'netfence.dev/expose-web': 'false' })))).toBe(true);
    expect(podExposureChanged({ type: 'delete', object: obj(exposed) })).toBe(true);
    expect(podExposureChanged({ type: 'delete', object: obj({ app: 'x' }) })).toBe(false);
    expect(podExposureChanged({ type: 'resync', object: obj(exposed) })).toBe(false);
  });

  test('pod counts move by adds and deletes only', () => {
    expect(podCountDelta(up(undefined, obj()))).toBe(1);
    expect(podCountDelta(up(obj(), obj()))).toBe(0);
    expect(podCountDelta({ type: 'delete', object: obj() })).toBe(-1);
    expect(podCountDelta({ type: 'resync', object: obj() })).toBe(0);
  });

  test('sameLabels leaves out only the ignored key', () => {
    expect(sameLabels({ a: '1', m: 'x' }, { a: '1' }, 'm')).toBe(true);
    expect(sameLabels({ a: '1' }, { a: '2' }, 'm')).toBe(false);
    expect(sameLabels(undefined, {})).toBe(true);
    expect(sameLabels({ a: '' }, {})).toBe(false);
  });
});

describe('work keys', () => {
  test('round-trip, and a tenant and a namespace of the same name are different keys', () => {
    for (const name of ['a', 'team-a', 'x.y', '']) {
      expect(parseKey(namespaceKey(name))).toEqual({ kind: 'namespace', name });
      expect(parseKey(tenantKey(name))).toEqual({ kind: 'tenant', name });
      expect(namespaceKey(name)).not.toBe(tenantKey(name));
    }
  });
});

describe('OwnWrites (the own-write overlay)', () => {
  function clocked() {
    let now = 0;
    return { writes: new OwnWrites<string>(1_000, () => now), tick: (ms: number) => (now += ms) };
  }

  test('lays writes over the cache, a delete removing the name, until the cache shows the object', () => {
    const { writes } = clocked();
    const cached = new Map([
      ['p1', 'cached-1'],
      ['p2', 'cached-2'],
    ]);
    writes.wrote('ns', 'p1', 'mine-1');
    writes.wrote('ns', 'p2', null);
    writes.wrote('ns', 'p3', 'mine-3');
    expect([...writes.overlay('ns', cached)]).toEqual([
      ['p1', 'mine-1'],
      ['p3', 'mine-3'],
    ]);
    expect([...cached.keys()]).toEqual(['p1', 'p2']);
    writes.seen('ns', 'p1');
    expect(writes.overlay('ns', cached).get('p1')).toBe('cached-1');
    expect(writes.overlay('other', cached)).toBe(cached);
    writes.seenGroup('ns');
    expect(writes.size).toBe(0);
  });

  test('a write the cache never shows stops counting after the TTL', () => {
    const { writes, tick } = clocked();
    writes.wrote('ns', 'label', 'team-a');
    tick(1_000);
    expect(writes.get('ns', 'label')).toEqual({ value: 'team-a', at: 0 });
    tick(1);
    expect(writes.get('ns', 'label')).toBeUndefined();
    expect(writes.size).toBe(0);
    writes.wrote('a', 'x', 'v');
    writes.wrote('b', 'y', null);
    tick(500);
    writes.wrote('b', 'z', 'w');
    tick(600);
    writes.sweep();
    expect(writes.size).toBe(1);
    expect(writes.pending('b')).toEqual(new Map([['z', 'w']]));
    expect(writes.pending('a')).toBeUndefined();
  });
});
