import { ServiceGatewayLinkBook } from './service-gateway-links';

describe('ServiceGatewayLinkBook', () => {
  it('gives each (service, link) its own /30, keeps it, and reuses a block only after release', () => {
    const book = new ServiceGatewayLinkBook('100.66.0.0/16', () => []);
    const a = book.allocate('ns/a', ['eip', 'vpc/blue', 'vpc/green']);
    expect(a).toEqual({
      ok: true,
      cidrs: { eip: '100.66.0.0/30', 'vpc/blue': '100.66.0.4/30', 'vpc/green': '100.66.0.8/30' },
    });
    expect(book.allocate('ns/b', ['eip'])).toEqual({ ok: true, cidrs: { eip: '100.66.0.12/30' } });
    expect(book.allocate('ns/a', ['eip', 'vpc/green'])).toMatchObject({ cidrs: { 'vpc/green': '100.66.0.8/30' } });
    book.release('ns/a', ['eip', 'vpc/green']);
    expect(book.allocate('ns/c', ['eip'])).toEqual({ ok: true, cidrs: { eip: '100.66.0.4/30' } });
    book.release('ns/a');
    expect(book.held('ns/a')).toEqual({});
  });

  it('is rebuilt from NB records before the first allocation; clashes and foreign ranges are dropped', () => {
    const book = new ServiceGatewayLinkBook('100.66.0.0/29', () => [
      { service: 'ns/a', link: 'vpc/blue', cidr: '100.66.0.4/30' },
      { service: 'ns/b', link: 'eip', cidr: '100.66.0.4/30' },
      { service: 'ns/c', link: 'eip', cidr: '10.0.0.0/30' },
    ]);
    expect(book.allocate('ns/a', ['vpc/blue'])).toEqual({ ok: true, cidrs: { 'vpc/blue': '100.66.0.4/30' } });
    expect(book.allocate('ns/b', ['eip'])).toEqual({ ok: true, cidrs: { eip: '100.66.0.0/30' } });
    expect(book.allocate('ns/c', ['eip'])).toMatchObject({ ok: false, reason: 'LinkCIDRExhausted' });
  });
});
