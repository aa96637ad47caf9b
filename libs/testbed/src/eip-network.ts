import type { EipPoolSpec } from '@ycloud/api';
import type { NetnsEndpoint, OvnNode } from './ovn-node';
import { tcpRequest } from './traffic';

/**
 * The external network the EIP tests use: a localnet network `external` on 172.16.0.0/24 whose pool hands out
 * .50-.59, the pool's gateway router at .1 and an outside client at .100 routing through it.
 */
export const TEST_EIP_NETWORK = {
  /** The physical network name (`ovn-bridge-mappings`, the pool's `networkName`). */
  network: 'external',
  cidr: '172.16.0.0/24',
  /** The network's upstream router (the pool gateway router's default route). */
  gateway: '172.16.0.254',
  /** The pool gateway router's address on the network: the client's gateway. */
  routerAddress: '172.16.0.1',
  ranges: ['172.16.0.50-172.16.0.59'],
  /** The outside client: its namespace (short name) and address with prefix length. */
  client: { netns: 'ext', ip: '172.16.0.100/24' },
} as const;

/** An EipPool spec on TEST_EIP_NETWORK, served by `gatewayNodes`. */
export function testEipPoolSpec(gatewayNodes: string[]): EipPoolSpec {
  const n = TEST_EIP_NETWORK;
  return {
    networkName: n.network,
    cidr: n.cidr,
    gateway: n.gateway,
    routerAddress: n.routerAddress,
    ranges: [...n.ranges],
    gatewayNodes,
  };
}

/** The outside client of TEST_EIP_NETWORK, on `node`'s br-ex (see OvnNode.attachExternalNetwork). */
export function attachEipClient(node: OvnNode): Promise<NetnsEndpoint> {
  const n = TEST_EIP_NETWORK;
  return node.attachExternalNetwork({
    network: n.network,
    netns: n.client.netns,
    ip: n.client.ip,
    gateway: n.routerAddress,
  });
}

/**
 * One connection from `netns` to host:port: the server's reply, or `error: <last line of the client's error>`
 * (a refusal, a reset, a timeout), for tests that count answers and failures rather than stop at the first.
 */
export function tcpAttempt(netns: string, host: string, port: number, timeoutMs = 2_000): Promise<string> {
  return tcpRequest(netns, host, port, timeoutMs).catch((e: Error) => `error: ${e.message.split('\n').pop() ?? ''}`);
}
