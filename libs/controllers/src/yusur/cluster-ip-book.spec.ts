import { ClusterIpBook, type ClusterIpHolder } from './cluster-ip-book';

describe('ClusterIpBook', () => {
  const none = (): ClusterIpHolder[] => [];

  it('hands out distinct addresses per VPC, keeps them stable and frees them on release', () => {
    const book = new ClusterIpBook();
    const a = book.allocate('ns/a', 'v', ['10.96.0.0/29'], undefined, none);
    const b = book.allocate('ns/b', 'v', ['10.96.0.0/29'], undefined, none);
    expect(a).toEqual({ ok: true, addresses: ['10.96.0.2'] });
    expect(b).toEqual({ ok: true, addresses: ['10.96.0.3'] });
    expect(book.allocate('ns/a', 'v', ['10.96.0.0/29'], undefined, none)).toEqual(a);
    book.release('ns/a');
    expect(book.allocate('ns/c', 'v', ['10.96.0.0/29'], '10.96.0.3', none)).toMatchObject({ ok: false });
    expect(book.allocate('ns/c', 'v', ['10.96.0.0/29'], '10.96.0.2', none)).toEqual(a); // freed by the release
  });

  it('is rebuilt from status: an address held by another service is never handed out again', () => {
    const book = new ClusterIpBook();
    const holders = (): ClusterIpHolder[] => [{ key: 'ns/old', vpc: 'v', addresses: ['10.96.0.2'] }];
    expect(book.allocate('ns/new', 'v', ['10.96.0.0/29'], undefined, holders)).toEqual({
      ok: true,
      addresses: ['10.96.0.3'],
    });
    expect(book.allocate('ns/new2', 'v', ['10.96.0.0/29'], '10.96.0.2', holders)).toMatchObject({
      ok: false,
      reason: 'AddressInUse',
    });
  });

  it('never hands out an address blocked for an outside holder, and moves the service that had it', () => {
    const book = new ClusterIpBook();
    expect(book.allocate('ns/a', 'v', ['10.96.0.0/29'], undefined, none)).toEqual({
      ok: true,
      addresses: ['10.96.0.2'],
    });
    book.block('v', '10.96.0.2'); // a Kubernetes Service holds it
    expect(book.allocate('ns/a', 'v', ['10.96.0.0/29'], undefined, none)).toEqual({
      ok: true,
      addresses: ['10.96.0.3'],
    });
    expect(book.allocate('ns/b', 'v', ['10.96.0.0/29'], '10.96.0.2', none)).toMatchObject({ ok: false });
  });

  it('refuses a requested address outside the VPC service CIDRs and a VPC without one', () => {
    const book = new ClusterIpBook();
    expect(book.allocate('ns/a', 'v', ['10.96.0.0/24'], '192.168.0.1', none)).toMatchObject({
      ok: false,
      reason: 'InvalidAddress',
    });
    expect(book.allocate('ns/a', 'w', [], undefined, none)).toMatchObject({ ok: false, reason: 'InvalidServiceCIDR' });
  });

  it('moves a service to the requested address and reports exhaustion', () => {
    const book = new ClusterIpBook();
    book.allocate('ns/a', 'v', ['10.96.0.0/30'], undefined, none);
    expect(book.allocate('ns/a', 'v', ['10.96.0.0/30'], '10.96.0.2', none)).toEqual({
      ok: true,
      addresses: ['10.96.0.2'],
    });
    expect(book.allocate('ns/b', 'v', ['10.96.0.0/30'], undefined, none)).toMatchObject({
      ok: false,
      reason: 'ServiceCIDRExhausted',
    });
  });
});
