import { CniError } from './cni-error';
import { parseCniArgs, parseCniRequest } from './cni-request';
import { decodeWireReply, decodeWireRequest, encodeWireReply, encodeWireRequest } from './wire';
import { parseIpAllocation } from '../k8s/allocation-annotation';

const conf = (v = '1.1.0'): string => JSON.stringify({ cniVersion: v, name: 'ycloud', type: 'ycloud' });
const add = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p',
};

function codeOf(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    return (e as CniError).code;
  }
  return undefined;
}

describe('CNI request parsing (spec error codes)', () => {
  it('accepts a valid ADD and parses CNI_ARGS', () => {
    const r = parseCniRequest(add, conf());
    expect(r).toMatchObject({
      command: 'ADD',
      containerId: 'abc',
      ifname: 'eth0',
      args: { K8S_POD_NAMESPACE: 'ns', K8S_POD_NAME: 'p' },
    });
  });
  it.each([
    ['no CNI_COMMAND', { ...add, CNI_COMMAND: undefined }, conf(), 4],
    ['unknown command', { ...add, CNI_COMMAND: 'NOPE' }, conf(), 4],
    ['missing CNI_NETNS for ADD', { ...add, CNI_NETNS: undefined }, conf(), 4],
    ['bad ifname', { ...add, CNI_IFNAME: 'a/b' }, conf(), 4],
    ['stdin not JSON', add, 'garbage', 6],
    ['stdin JSON but not an object', add, '[1]', 6],
    ['unsupported version', add, conf('0.4.0'), 1],
    ['GC needs 1.1.0', { CNI_COMMAND: 'GC' }, conf('1.0.0'), 1],
    ['config without type', add, JSON.stringify({ cniVersion: '1.0.0', name: 'x' }), 7],
    ['malformed CNI_ARGS', { ...add, CNI_ARGS: 'novalue' }, conf(), 4],
  ])('%s', (_n, env, stdin, code) => {
    expect(codeOf(() => parseCniRequest(env, stdin))).toBe(code);
  });
  it('DEL needs no netns; VERSION needs nothing', () => {
    expect(parseCniRequest({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0' }, conf()).netns).toBe('');
    expect(parseCniRequest({ CNI_COMMAND: 'VERSION' }, '{}').command).toBe('VERSION');
    expect(parseCniArgs('')).toEqual({});
  });
});

describe('shim wire format', () => {
  it('round-trips env and stdin, keeping only CNI_* and newlines in stdin', () => {
    const raw = encodeWireRequest({
      env: { CNI_COMMAND: 'ADD', PATH: '/bin', CNI_ARGS: 'a=b' },
      stdin: '{\n"x": 1}\n',
    });
    expect(decodeWireRequest(raw)).toEqual({ env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'a=b' }, stdin: '{\n"x": 1}\n' });
    expect(decodeWireReply(encodeWireReply(7, '{"code":7}\n'))).toEqual({ exitCode: 7, stdout: '{"code":7}\n' });
    expect(() => decodeWireReply('')).toThrow('malformed');
  });
});

describe('allocation annotation', () => {
  const ok = {
    ip: '10.16.0.5/16',
    mac: '0A:58:0A:10:00:05',
    gateway: '10.16.0.1',
    logicalSwitch: 'ls',
    logicalSwitchPort: 'ns_p',
    mtu: 1400,
  };
  it('reads the @ycloud/api shape (ips / gateways per family) and the earlier draft (ipv6)', () => {
    const dual = {
      ...ok,
      ips: ['10.16.0.5/16', 'fd00::5/64'],
      gateways: ['10.16.0.1', 'fd00::1'],
      subnet: 's',
      vpc: 'v',
    };
    expect(parseIpAllocation(JSON.stringify(dual), 'p').addresses).toEqual([
      { cidr: '10.16.0.5/16', gateway: '10.16.0.1', family: 4 },
      { cidr: 'fd00::5/64', gateway: 'fd00::1', family: 6 },
    ]);
    expect(
      parseIpAllocation(JSON.stringify({ ...ok, ipv6: 'fd00::5/64', gatewayV6: 'fd00::1' }), 'p').addresses[1],
    ).toEqual({
      cidr: 'fd00::5/64',
      gateway: 'fd00::1',
      family: 6,
    });
    const v6only = { ...ok, ip: 'fd00::5/64', gateway: 'fd00::1', ips: ['fd00::5/64'], gateways: ['fd00::1'] };
    expect(parseIpAllocation(JSON.stringify(v6only), 'p').addresses).toEqual([
      { cidr: 'fd00::5/64', gateway: 'fd00::1', family: 6 },
    ]);
    expect(() =>
      parseIpAllocation(JSON.stringify({ ...ok, ips: ['10.16.0.5/16'], gateways: ['fd00::1'] }), 'p'),
    ).toThrow('does not match');
  });
  it('parses and normalises', () => {
    expect(parseIpAllocation(JSON.stringify(ok), 'pod ns/p')).toMatchObject({ mac: '0a:58:0a:10:00:05', mtu: 1400 });
    expect(parseIpAllocation(JSON.stringify({ ...ok, mtu: undefined }), 'pod ns/p').mtu).toBe(1400);
  });
  it.each([
    ['no ip', { ...ok, ip: undefined }, '"ip"'],
    ['ip without prefix', { ...ok, ip: '10.16.0.5' }, '"ip"'],
    ['bad mac', { ...ok, mac: 'zz' }, '"mac"'],
    ['no LSP', { ...ok, logicalSwitchPort: '' }, 'logicalSwitchPort'],
    ['absurd mtu', { ...ok, mtu: 70000 }, 'mtu'],
  ])('rejects %s with code 7', (_n, v, what) => {
    expect(() => parseIpAllocation(JSON.stringify(v), 'pod ns/p')).toThrow(what);
    expect(codeOf(() => parseIpAllocation(JSON.stringify(v), 'pod ns/p'))).toBe(7);
  });
});
