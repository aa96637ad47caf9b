import { API_VERSION, type Eip, type EipPool, type Vpc } from '@ycloud/api';
import { vpcForNamespace } from '../topology/topology-objects.controller';
import { EipAddressBook, outsidePool } from './eip-addresses';

const pool: EipPool = {
  apiVersion: API_VERSION,
  kind: 'EipPool',
  metadata: { name: 'ext' },
  spec: {
    networkName: 'x',
    cidr: '172.16.0.0/24',
    gateway: '172.16.0.1',
    ranges: ['172.16.0.1-172.16.0.4'],
    gatewayNodes: ['n1'],
  },
};
const eip = (name: string, spec: Partial<Eip['spec']> = {}, address?: string): Eip => ({
  apiVersion: API_VERSION,
  kind: 'Eip',
  metadata: { name },
  spec: { pool: 'ext', ...spec },
  ...(address ? { status: { address } } : {}),
});
const vpc = (name: string, namespaces: string[], transitAddress?: string): Vpc => ({
  apiVersion: API_VERSION,
  kind: 'Vpc',
  metadata: { name },
  spec: { namespaces, externalGateway: { eipPool: 'ext' } },
  ...(transitAddress ? { status: { transitAddress } } : {}),
});

describe('EipAddressBook', () => {
  it('skips the upstream gateway and the router address, and hands nothing out twice', () => {
    const book = new EipAddressBook();
    // gateway .1 and router address .2 (default: first host that is not the gateway) are never allocated
    expect(book.allocateEip(eip('a'), pool, [])).toEqual({ ok: true, address: '172.16.0.3' });
    expect(book.allocateEip(eip('a'), pool, [])).toEqual({ ok: true, address: '172.16.0.3' });
    expect(book.allocateEip(eip('b'), pool, [])).toEqual({ ok: true, address: '172.16.0.4' });
    expect(book.allocateEip(eip('c'), pool, [])).toMatchObject({ ok: false, reason: 'PoolExhausted' });
    expect(book.allocateEip(eip('d', { address: '172.16.0.3' }), pool, [])).toMatchObject({
      ok: false,
      reason: 'AddressInUse',
    });
    expect(book.counts(pool, [])).toEqual({ used: 2, free: 0 });
    book.releaseEip('a');
    expect(book.allocateEip(eip('c'), pool, [])).toEqual({ ok: true, address: '172.16.0.3' });
  });

  it('is rebuilt from the status of existing Eips after a restart', () => {
    const book = new EipAddressBook();
    const existing = [eip('old', {}, '172.16.0.3')];
    expect(book.allocateEip(eip('new'), pool, existing)).toEqual({ ok: true, address: '172.16.0.4' });
    expect(book.allocateEip(existing[0], pool, existing)).toEqual({ ok: true, address: '172.16.0.3' });
  });

  it('allocates VPC transit addresses after the gateway routers’ first host, keeping existing ones', () => {
    const book = new EipAddressBook();
    const vpcs = [vpc('a', [], '100.65.0.2'), vpc('b', [])];
    expect(book.allocateTransit(vpcs[1], vpcs, '100.65.0.0/16')).toEqual({ ok: true, address: '100.65.0.3' });
    expect(book.allocateTransit(vpcs[0], vpcs, '100.65.0.0/16')).toEqual({ ok: true, address: '100.65.0.2' });
  });

  it('reserves the default VPC’s fixed transit address so no Vpc gets it, and yields to a Vpc already holding it', () => {
    const book = new EipAddressBook();
    const vpcs = [vpc('a', [], '100.65.0.2'), vpc('b', []), vpc('c', [])];
    expect(book.reserveTransit('default', '100.65.0.6', vpcs, '100.65.0.0/29')).toEqual({
      ok: true,
      address: '100.65.0.6',
    });
    expect(book.reserveTransit('default', '100.65.0.6', vpcs, '100.65.0.0/29')).toMatchObject({ ok: true });
    expect(book.allocateTransit(vpcs[1], vpcs, '100.65.0.0/29')).toEqual({ ok: true, address: '100.65.0.3' });
    expect(book.allocateTransit(vpcs[2], vpcs, '100.65.0.0/29')).toEqual({ ok: true, address: '100.65.0.4' });
    expect(book.allocateTransit(vpc('d', []), vpcs, '100.65.0.0/29')).toEqual({ ok: true, address: '100.65.0.5' });
    expect(book.allocateTransit(vpc('e', []), vpcs, '100.65.0.0/29')).toMatchObject({ ok: false });

    const restored = new EipAddressBook();
    const holder = [vpc('old', [], '100.65.0.6')];
    expect(restored.reserveTransit('default', '100.65.0.6', holder, '100.65.0.0/29')).toEqual({
      ok: false,
      reason: 'AddressInUse',
      message: 'transit address 100.65.0.6 is used by Vpc old',
    });
  });
});

describe('vpcForNamespace', () => {
  it('maps a namespace to the Vpc listing it (first by name on conflict), else the default VPC', () => {
    const vpcs = [vpc('z', ['shop']), vpc('b', ['shop', 'db'])];
    expect(vpcForNamespace(vpcs, 'shop', 'default')).toBe('b');
    expect(vpcForNamespace(vpcs, 'db', 'default')).toBe('b');
    expect(vpcForNamespace(vpcs, 'other', 'default')).toBe('default');
  });
});

describe('outsidePool', () => {
  it('is true only for an address outside every range (or the cidr when there are none)', () => {
    expect(outsidePool(pool, '172.16.0.3')).toBe(false);
    expect(outsidePool(pool, '172.16.0.5')).toBe(true);
    expect(outsidePool(pool, 'fd00::5')).toBe(true);
    expect(outsidePool({ ...pool, spec: { ...pool.spec, ranges: undefined } }, '172.16.0.200')).toBe(false);
    // Unreadable ranges are the pool's own problem (its condition), not the Service's.
    expect(outsidePool({ ...pool, spec: { ...pool.spec, ranges: ['172.16.0.9-172.16.0.2'] } }, '10.0.0.1')).toBe(false);
  });
});
