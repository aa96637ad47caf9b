import { parseControllerConfig } from '@ycloud/api';
import { CONTROLLERS } from './controllers';

const config = parseControllerConfig({ eip: { defaultPool: 'ext' } });

/** Which registered controllers claim an NB owner for start-up, drift and periodic repair (name → key). */
const claims = (kind: string, name: string) =>
  CONTROLLERS.flatMap((r) => {
    const key = r.ownerKey?.({ kind, name }, config);
    return key === undefined ? [] : [[r.name, key]];
  });

describe('CONTROLLERS', () => {
  it('has one registration per controller name', () => {
    const names = CONTROLLERS.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each([
    ['Service', 'shop/web', 'service', 'shop/web'],
    ['ServiceEip', 'shop/web', 'service-eip', 'shop/web'],
    ['YusurService', 'shop/web', 'yusur-service', 'shop/web'],
    ['Pod', 'shop/web-0', 'pod-network', 'shop/web-0'],
    ['Node', 'node-1', 'node-network', 'node-1'],
    ['Vpc', 'default', 'default-topology', 'default-topology'],
    ['Subnet', 'join', 'default-topology', 'default-topology'],
    ['Vpc', 'blue', 'topology', 'Vpc/blue'],
    ['Subnet', 'blue', 'topology', 'Subnet/blue'],
    ['EipPool', 'ext', 'topology', 'EipPool/ext'],
    ['Eip', 'fixed', 'topology', 'Eip/fixed'],
    ['VpcGateway', 'default', 'topology', 'Vpc/default'],
    ['BareMetalServer', 'db-1', 'network-attachment', 'db-1'],
    ['VNic', 'shop/nic-1', 'network-attachment', 'shop/nic-1'],
  ])('gives the rows of owner %s/%s to exactly one controller', (kind, name, controller, key) => {
    expect(claims(kind, name)).toEqual([[controller, key]]);
  });

  it('claims no owner kind ycloud does not write', () => {
    expect(claims('Something', 'x')).toEqual([]);
  });
});
