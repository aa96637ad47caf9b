import { parseSchema } from '../ovsdb/schema';
import { TableCache } from './table-cache';

const schema = parseSchema({
  name: 'T',
  version: '1.0.0',
  tables: {
    R: {
      columns: {
        name: { type: 'string' },
        s: { type: { key: 'string', min: 0, max: 'unlimited' } },
        o: { type: { key: 'string', min: 0, max: 1 } },
        m: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
      },
    },
  },
}).tables.R;

function cache(): TableCache {
  const c = new TableCache(
    schema,
    ['name', 's', 'o', 'm'],
    [
      { name: 'owner', columns: ['m:owner'] },
      { name: 'tag', columns: ['s'] },
    ],
  );
  c.applyUpdate2('u1', {
    initial: {
      name: 'a',
      s: ['set', ['x', 'y']],
      o: 'one',
      m: [
        'map',
        [
          ['owner', 'me'],
          ['k', 'v'],
        ],
      ],
    },
  });
  return c;
}

describe('update2 application', () => {
  test('initial rows get defaults for omitted columns', () => {
    const c = new TableCache(schema, ['name', 's', 'o', 'm']);
    c.applyUpdate2('u', { insert: {} });
    expect(c.rows.get('u')).toEqual({ _uuid: 'u', name: '', s: [], o: [], m: {} });
  });

  test('modify: full value for max-1 columns, symmetric difference for sets, add/remove/change for maps', () => {
    const c = cache();
    const ch = c.applyUpdate2('u1', {
      modify: {
        name: 'b',
        o: ['set', []],
        s: ['set', ['x', 'z']],
        m: [
          'map',
          [
            ['owner', 'you'],
            ['k', 'v'],
            ['n', 'new'],
          ],
        ],
      },
    });
    expect(ch!.old).toMatchObject({ name: 'a', o: ['one'] });
    expect(c.rows.get('u1')).toEqual({ _uuid: 'u1', name: 'b', s: ['y', 'z'], o: [], m: { owner: 'you', n: 'new' } });
  });

  test('applying a diff twice undoes it (which is why each update is applied exactly once)', () => {
    const c = cache();
    const diff = { modify: { s: ['set', ['x']] } };
    c.applyUpdate2('u1', diff);
    expect(c.rows.get('u1')!.s).toEqual(['y']);
    c.applyUpdate2('u1', diff);
    expect([...(c.rows.get('u1')!.s as string[])].sort()).toEqual(['x', 'y']);
  });

  test('indexes follow inserts, modifies and deletes (map keys and set elements)', () => {
    const c = cache();
    expect(c.lookup('owner', ['me']).map((r) => r._uuid)).toEqual(['u1']);
    expect(c.lookup('tag', ['y']).map((r) => r._uuid)).toEqual(['u1']);
    c.applyUpdate2('u1', { modify: { m: ['map', [['owner', 'you']]], s: ['set', ['y']] } });
    expect(c.lookup('owner', ['me'])).toEqual([]);
    expect(c.lookup('owner', ['you'])).toHaveLength(1);
    expect(c.lookup('tag', ['y'])).toEqual([]);
    c.applyUpdate2('u1', { delete: null });
    expect(c.lookup('owner', ['you'])).toEqual([]);
    expect(c.rows.size).toBe(0);
  });

  test('modify of an unknown row is an error (the client then resyncs)', () => {
    expect(() => cache().applyUpdate2('nope', { modify: { name: 'x' } })).toThrow(/unknown row/);
  });

  test('plain update (v1) replaces the given columns', () => {
    const c = cache();
    c.applyUpdate1('u1', { old: { name: 'a' }, new: { name: 'c', s: ['set', []], o: ['set', []], m: ['map', []] } });
    expect(c.rows.get('u1')).toEqual({ _uuid: 'u1', name: 'c', s: [], o: [], m: {} });
    c.applyUpdate1('u1', { old: {} });
    expect(c.rows.size).toBe(0);
  });
});
