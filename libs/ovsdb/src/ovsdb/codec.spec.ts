import { decodeValue, defaultValue, encodeValue } from './codec';
import { BIG_INT_MARK } from './json-splitter';
import { parseSchema } from './schema';

const t = parseSchema({
  name: 'T',
  version: '1.0.0',
  tables: {
    R: {
      columns: {
        i: { type: 'integer' },
        u: { type: 'uuid' },
        ou: { type: { key: { type: 'uuid', refTable: 'R' }, min: 0, max: 1 } },
        su: { type: { key: 'uuid', min: 0, max: 'unlimited' } },
        m: { type: { key: 'integer', value: 'string', min: 0, max: 'unlimited' } },
        e: { type: { key: { type: 'string', enum: ['set', ['tcp', 'udp']] }, min: 0, max: 1 } },
        r: { type: 'real' },
      },
    },
  },
}).tables.R;
const U = '01234567-89ab-cdef-0123-456789abcdef';

describe('codec', () => {
  test('decodes by the schema, not the JSON shape: a bare atom in a set column is a one-element set', () => {
    expect(decodeValue(['uuid', U], t.columns.su)).toEqual([U]);
    expect(decodeValue(['uuid', U], t.columns.u)).toBe(U);
    expect(decodeValue(['uuid', U], t.columns.ou)).toEqual([U]);
    expect(decodeValue(['set', []], t.columns.ou)).toEqual([]);
    expect(decodeValue('tcp', t.columns.e)).toEqual(['tcp']);
    expect(
      decodeValue(
        [
          'set',
          [
            ['uuid', U],
            ['uuid', U.replace('0', 'f')],
          ],
        ],
        t.columns.su,
      ),
    ).toHaveLength(2);
  });

  test('maps become plain objects with stringified keys and encode back by the key type', () => {
    const v = decodeValue(
      [
        'map',
        [
          [1, 'a'],
          [-7, 'b'],
        ],
      ],
      t.columns.m,
    );
    expect(v).toEqual({ '1': 'a', '-7': 'b' });
    expect(encodeValue(v, t.columns.m)).toEqual([
      'map',
      [
        [1n, 'a'],
        [-7n, 'b'],
      ],
    ]);
  });

  test('integers above 2^53 are bigints, below are numbers; reals print 2.0 as 2', () => {
    expect(decodeValue(BIG_INT_MARK + '9007199254740993', t.columns.i)).toBe(9007199254740993n);
    expect(decodeValue(BIG_INT_MARK + '9007199254740991', t.columns.i)).toBe(9007199254740991);
    expect(decodeValue(2, t.columns.r)).toBe(2);
    expect(() => decodeValue(1.5, t.columns.i)).not.toThrow(); // trusts the server's reals-as-numbers
    expect(() => encodeValue(1.5, t.columns.i)).toThrow(/cannot encode 1.5 as integer/);
  });

  test('uuid values: real uuids and named-uuid tokens', () => {
    expect(encodeValue(U, t.columns.u)).toEqual(['uuid', U]);
    expect(encodeValue('row_1', t.columns.u)).toEqual(['named-uuid', 'row_1']);
    expect(encodeValue([U, 'row_1'], t.columns.su)).toEqual([
      'set',
      [
        ['uuid', U],
        ['named-uuid', 'row_1'],
      ],
    ]);
    expect(encodeValue('tcp', t.columns.e)).toEqual(['set', ['tcp']]);
    expect(() => encodeValue('not a uuid!', t.columns.u)).toThrow();
  });

  test('defaults for omitted columns', () => {
    expect([
      defaultValue(t.columns.i),
      defaultValue(t.columns.su),
      defaultValue(t.columns.m),
      defaultValue(t.columns.r),
    ]).toEqual([0, [], {}, 0]);
  });
});
