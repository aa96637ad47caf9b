import { generateAll } from './modelgen';

// Reads the schemas installed on this machine (Debian's OVN and OVS packages): fails when
// libs/ovsdb/src/generated/ is out of date. Fix with `npm run --prefix libs/ovsdb modelgen`.
test('generated models are up to date with the installed schemas', () => {
  const stale = generateAll(false).filter((r) => !r.upToDate);
  expect(stale.map((r) => r.file)).toEqual([]);
});
