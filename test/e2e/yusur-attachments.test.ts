import { CoreV1Api } from '@kubernetes/client-node';
import {
  API_VERSION,
  IP_ALLOCATION_ANNOTATION,
  macFromIp,
  parseIpAllocationAnnotation,
  type BareMetalServer,
  type VNic,
  type YusurService,
} from '@ycloud/api';
import { YUSUR_RESOURCES } from '@ycloud/controllers';
import type { KubeClient, KubeObject } from '@ycloud/k8s';
import {
  ControllerTestEnv,
  KubeControlPlane,
  OvnTestbed,
  TcpServer,
  eventually,
  tcpRequest,
  type NetnsEndpoint,
} from '@ycloud/testbed';

type Ready = { status?: { conditions?: Array<{ type: string; status: string; observedGeneration?: number }> } };
const isReady = (o: KubeObject & Ready) =>
  o.status?.conditions?.some(
    (c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === o.metadata?.generation,
  ) === true;

/**
 * BareMetal and VNicIP backends of a YusurService reached with real traffic. The controllers give the
 * BareMetalServer (spec.node: node-2) and the VNic their ports on the default subnet; each "server" is a network
 * namespace attached the way the real one is: an OVS port with `iface-id` bms.<name> / vnic.<ns>.<name>, configured
 * with the address, MAC and default route the server would use (the VNic's read from its status). A client pod on
 * node-1 connects to the service's ClusterIP and both backends answer, one across the Geneve tunnel.
 */
describe('YusurService BareMetal and VNic backends attached to OVN (real traffic)', () => {
  let env: ControllerTestEnv;
  let bed: OvnTestbed;
  let k8s: KubeControlPlane;
  let kube: KubeClient;
  let core: CoreV1Api;
  let client: NetnsEndpoint;
  const servers: TcpServer[] = [];

  beforeAll(async () => {
    env = await ControllerTestEnv.start({ nodes: ['node-1', 'node-2'], kubeNodes: true, namespaces: ['shop'] });
    ({ testbed: bed, k8s, kube } = env);
    core = k8s.kubeConfig.makeApiClient(CoreV1Api);
  }, 300_000);

  afterAll(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    await env?.stop();
  }, 120_000);

  it('balances ClusterIP connections from a pod over a bare-metal server and a VNic', async () => {
    // The bare-metal server: a fixed address in the default subnet, its port bound to node-2 only.
    await kube.create(YUSUR_RESOURCES.BareMetalServer, undefined, {
      apiVersion: API_VERSION,
      kind: 'BareMetalServer',
      metadata: { name: 'db-1', labels: { app: 'db' } },
      spec: { vpc: 'default', subnet: 'default', ip: '10.16.200.10', node: 'node-2' },
    } as never);
    await kube.create(YUSUR_RESOURCES.VNic, 'shop', {
      apiVersion: API_VERSION,
      kind: 'VNic',
      metadata: { name: 'nic-1', namespace: 'shop', labels: { app: 'db' } },
      spec: { subnet: 'default' },
    } as never);
    await eventually(
      () => kube.get<BareMetalServer & KubeObject>(YUSUR_RESOURCES.BareMetalServer, undefined, 'db-1'),
      isReady,
      'BareMetalServer db-1 Ready',
    );
    const nic = await eventually(
      () => kube.get<VNic & KubeObject>(YUSUR_RESOURCES.VNic, 'shop', 'nic-1'),
      isReady,
      'VNic nic-1 Ready',
    );
    const { ip: nicIp, mac: nicMac, logicalSwitchPort } = nic.status!;
    expect(logicalSwitchPort).toBe('vnic.shop.nic-1');

    // Attach both "servers" as their hosts would: the server's NIC is an OVS port carrying the LSP name as iface-id.
    const bms = await bed.node('node-2').plugPod({
      netns: 'bms-db-1',
      ifaceId: 'bms.db-1',
      mac: macFromIp('10.16.200.10'),
      ips: ['10.16.200.10/16'],
      gateway: '10.16.0.1',
    });
    const vnic = await bed.node('node-1').plugPod({
      netns: 'vnic-nic-1',
      ifaceId: logicalSwitchPort!,
      mac: nicMac!,
      ips: [`${nicIp}/16`],
      gateway: '10.16.0.1',
    });
    servers.push(await TcpServer.start(bms.netns, 5432, 'db-1'), await TcpServer.start(vnic.netns, 5432, 'nic-1'));
    // The BareMetalServer's port is bound where spec.node says: node-2's chassis.
    const node2 = await bed.central.sbctl('--bare', '--columns=_uuid', 'find', 'Chassis', 'name=node-2');
    await eventually(
      () => bed.central.sbctl('--bare', '--columns=chassis', 'find', 'Port_Binding', 'logical_port=bms.db-1'),
      (uuid) => uuid.trim() === node2.trim() && uuid.trim() !== '',
      'bms.db-1 bound to node-2',
    );

    // A client pod in the same VPC (the default one), on node-1.
    await core.createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: { name: 'client', namespace: 'shop' },
        spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'none' }] },
      },
    });
    const pod = await eventually(
      () => core.readNamespacedPod({ namespace: 'shop', name: 'client' }),
      (p) => !!p.metadata?.annotations?.[IP_ALLOCATION_ANNOTATION],
      'client address',
    );
    const ann = parseIpAllocationAnnotation(pod.metadata!.annotations![IP_ALLOCATION_ANNOTATION])!;
    client = await bed.node('node-1').plugPod({
      netns: 'shop-client',
      ifaceId: ann.logicalSwitchPort,
      mac: ann.mac,
      ips: ann.ips,
      gateway: ann.gateway,
    });

    await kube.create(YUSUR_RESOURCES.YusurService, 'shop', {
      apiVersion: API_VERSION,
      kind: 'YusurService',
      metadata: { name: 'db', namespace: 'shop' },
      spec: {
        backends: [
          { kind: 'BareMetal', selector: { matchLabels: { app: 'db' } } },
          { kind: 'VNicIP', selector: { matchLabels: { app: 'db' } } },
        ],
        ports: [{ protocol: 'TCP', port: 5432 }],
        scenarios: { clusterIP: {} },
      },
    } as never);
    const svc = await eventually(
      () => kube.get<YusurService & KubeObject>(YUSUR_RESOURCES.YusurService, 'shop', 'db'),
      (s) => isReady(s) && (s.status?.totalBackends ?? 0) === 2,
      'YusurService db Ready with 2 backends',
    );
    const cip = svc.status!.clusterIPs![0];

    // Each backend directly first (the ports really carry traffic), then through the ClusterIP. A server replies
    // with its name and the client address it sees (no SNAT inside the VPC: the pod's own).
    const from = ` ${client.ip}`;
    await eventually(
      () => tcpRequest(client.netns, '10.16.200.10', 5432),
      (r) => r === `db-1${from}`,
      'db-1 directly',
    );
    await eventually(
      () => tcpRequest(client.netns, nicIp!, 5432),
      (r) => r === `nic-1${from}`,
      'nic-1 directly',
    );
    await eventually(
      () => tcpRequest(client.netns, cip, 5432),
      (r) => r === `db-1${from}` || r === `nic-1${from}`,
      'ClusterIP answers',
      120_000,
    );
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const reply = await tcpRequest(client.netns, cip, 5432);
      seen.set(reply, (seen.get(reply) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual([`db-1${from}`, `nic-1${from}`]);
  });
});
