import {
  CrdDefinition,
  Rule,
  Schema,
  arr,
  bool,
  cidr,
  conditions,
  int,
  intOrString,
  ip,
  label,
  labelSelector,
  mac,
  name,
  obj,
  observedGeneration,
  str,
} from './schema-builder';

const BACKEND_KINDS = ['Pod', 'VM', 'BareMetal', 'VNicIP'];

/** Probe settings shared by YusurService.spec.probe and NetworkProbe.spec. */
function probeFields(portDescription: string): Record<string, Schema> {
  return {
    type: str(
      'tcp (connect), http (GET path, expect status), icmp (echo) or udp (datagram, failed on ICMP unreachable).',
      {
        enum: ['tcp', 'http', 'icmp', 'udp'],
      },
    ),
    port: int(portDescription, { minimum: 1, maximum: 65535 }),
    path: str('HTTP path, http only.', { maxLength: 2048, pattern: '^/' }),
    expectedStatus: int('HTTP status that counts as healthy, http only; default 200.', { minimum: 100, maximum: 599 }),
    intervalSeconds: int('Seconds between probes.', { minimum: 1, maximum: 3600, default: 10 }),
    timeoutSeconds: int('Seconds before one probe counts as failed; at most intervalSeconds.', {
      minimum: 1,
      maximum: 3600,
      default: 1,
    }),
    successThreshold: int('Consecutive successes to become healthy.', { minimum: 1, maximum: 100, default: 1 }),
    failureThreshold: int('Consecutive failures to become unhealthy.', { minimum: 1, maximum: 100, default: 3 }),
  };
}

const probeRules: Rule[] = [
  {
    rule: '!has(self.timeoutSeconds) || !has(self.intervalSeconds) || self.timeoutSeconds <= self.intervalSeconds',
    message: 'timeoutSeconds must not exceed intervalSeconds',
    fieldPath: '.timeoutSeconds',
  },
  {
    rule: "self.type == 'http' || (!has(self.path) && !has(self.expectedStatus))",
    message: 'path and expectedStatus apply to http probes only',
    fieldPath: '.type',
  },
  { rule: "self.type != 'icmp' || !has(self.port)", message: 'icmp probes have no port', fieldPath: '.port' },
];

const backendCounts = (kind: string) =>
  obj(`${kind} backends.`, {
    found: int('Backends the selectors found.', { minimum: 0 }),
    healthy: int('Backends passing probes (all found, without a probe).', { minimum: 0 }),
  });

export const yusurServiceCrd: CrdDefinition = {
  kind: 'YusurService',
  plural: 'yusurservices',
  singular: 'yusurservice',
  namespaced: true,
  shortNames: ['ysvc'],
  description:
    'A load-balanced service over pods, KubeVirt VMs, bare-metal servers and VNic addresses, reachable on a ' +
    'ClusterIP inside a VPC and/or on an external Eip, with optional active health probes.',
  spec: obj(
    'Desired state of the service.',
    {
      backends: arr(
        'Backend sets; the service balances over the union.',
        obj(
          'One set of backends of one kind.',
          {
            kind: str(
              'Pod, VM (KubeVirt VirtualMachineInstance), BareMetal (BareMetalServer) or VNicIP (VNic addresses).',
              { enum: BACKEND_KINDS },
            ),
            selector: labelSelector('Labels of the backend objects.'),
            namespaceSelector: labelSelector('Namespaces to look in (Pod, VM, VNicIP); default: this namespace only.'),
          },
          ['kind', 'selector'],
          [
            {
              rule: "self.kind != 'BareMetal' || !has(self.namespaceSelector)",
              message: 'BareMetalServers are cluster-scoped: no namespaceSelector',
              fieldPath: '.namespaceSelector',
            },
          ],
        ),
        { minItems: 1, maxItems: 16 },
      ),
      ports: arr(
        'Ports the service exposes.',
        obj(
          'One service port.',
          {
            name: label('Port name; required when there are several ports.'),
            protocol: str('TCP, UDP or SCTP.', { enum: ['TCP', 'UDP', 'SCTP'], default: 'TCP' }),
            port: int('Port on the service addresses.', { minimum: 1, maximum: 65535 }),
            targetPort: intOrString('Port on the backends: a number, or a named container port (pods); default: port.'),
          },
          ['port'],
          [
            {
              rule: '!has(self.targetPort) || type(self.targetPort) == string || (int(self.targetPort) >= 1 && int(self.targetPort) <= 65535)',
              message: 'targetPort must be between 1 and 65535',
              fieldPath: '.targetPort',
            },
          ],
        ),
        {
          minItems: 1,
          maxItems: 64,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['port', 'protocol'],
        },
        [
          {
            rule: 'self.size() == 1 || self.all(p, has(p.name))',
            message: 'every port needs a name when there are several',
          },
        ],
      ),
      sessionAffinity: str('None, or ClientIP to keep a client on one backend.', {
        enum: ['None', 'ClientIP'],
        default: 'None',
      }),
      sessionAffinityTimeoutSeconds: int('Idle seconds before ClientIP affinity is forgotten; default 10800.', {
        minimum: 1,
        maximum: 86400,
      }),
      scenarios: obj(
        'Where the service is reachable; at least one.',
        {
          clusterIP: obj('A virtual IP inside a VPC.', {
            vpc: name('The Vpc; default: the Vpc of this namespace.'),
            address: ip('A fixed ClusterIP from the VPC serviceCIDRs; default: allocated.'),
          }),
          eip: obj(
            "An external address. Give at most one of eipName, address, pool; none: an address from the VPC's gateway pool.",
            {
              eipName: name('An existing Eip to bind.'),
              address: ip('A fixed external address (an Eip is created for it).', 4),
              pool: name('EipPool to allocate from.'),
              sourceRanges: arr(
                'Client ranges allowed to reach the external address (as a Service\'s loadBalancerSourceRanges); empty or unset: everyone.',
                cidr('An IPv4 CIDR with host bits zero, e.g. 203.0.113.0/24.', 4),
                { maxItems: 64 },
              ),
            },
            [],
            [
              {
                rule: '[has(self.eipName), has(self.address), has(self.pool)].filter(x, x).size() <= 1',
                message: 'set at most one of eipName, address and pool',
              },
            ],
          ),
        },
        [],
        [{ rule: 'has(self.clusterIP) || has(self.eip)', message: 'give at least one scenario: clusterIP or eip' }],
      ),
      probe: obj(
        'Health probe template; a NetworkProbe is derived from it. Absent: every backend found is used.',
        probeFields("Port to probe; default: each backend's target port."),
        ['type'],
        probeRules,
      ),
    },
    ['backends', 'ports', 'scenarios'],
    [
      {
        rule: "!has(self.sessionAffinityTimeoutSeconds) || (has(self.sessionAffinity) && self.sessionAffinity == 'ClientIP')",
        message: 'sessionAffinityTimeoutSeconds requires sessionAffinity ClientIP',
        fieldPath: '.sessionAffinityTimeoutSeconds',
      },
    ],
  ),
  status: obj('Observed state of the service.', {
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    clusterIPs: arr('Allocated ClusterIPs.', str('An address.', { maxLength: 45 }), { maxItems: 2 }),
    eips: arr('External addresses.', str('An address.', { maxLength: 45 }), { maxItems: 16 }),
    backends: obj('Backends per kind.', {
      pod: backendCounts('Pod'),
      vm: backendCounts('VM'),
      bareMetal: backendCounts('BareMetal'),
      vnicIP: backendCounts('VNicIP'),
    }),
    totalBackends: int('Backends found, all kinds.', { minimum: 0 }),
    healthyBackends: int('Healthy backends, all kinds.', { minimum: 0 }),
  }),
  printerColumns: [
    { name: 'ClusterIPs', type: 'string', jsonPath: '.status.clusterIPs', description: 'Cluster IPs.' },
    { name: 'EIPs', type: 'string', jsonPath: '.status.eips', description: 'External addresses.' },
    { name: 'Healthy', type: 'integer', jsonPath: '.status.healthyBackends', description: 'Healthy backends.' },
    { name: 'Backends', type: 'integer', jsonPath: '.status.totalBackends', description: 'Backends found.' },
    {
      name: 'Programmed',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Programmed")].status',
      description: 'Programmed in OVN.',
    },
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Serving: programmed with at least one healthy backend.',
    },
  ],
};

export const networkProbeCrd: CrdDefinition = {
  kind: 'NetworkProbe',
  plural: 'networkprobes',
  singular: 'networkprobe',
  namespaced: true,
  shortNames: ['nprobe'],
  description: 'Active health checks of a set of targets (backends or addresses), run by ycloud agents.',
  spec: obj(
    'Desired probing.',
    {
      targets: arr(
        'What to probe.',
        obj(
          'One target: a backend reference or an address, exactly one.',
          {
            backendRef: obj(
              'A backend object.',
              {
                kind: str('Kind of the backend.', { enum: BACKEND_KINDS }),
                name: name('Object name.'),
                namespace: label('Namespace; default: this one (none for BareMetal).'),
              },
              ['kind', 'name'],
            ),
            address: ip('An IP address.'),
          },
          [],
          [
            {
              rule: 'has(self.backendRef) != has(self.address)',
              message: 'give exactly one of backendRef and address',
            },
          ],
        ),
        { minItems: 1, maxItems: 256 },
      ),
      ...probeFields('Port to probe (tcp, udp, http).'),
    },
    ['targets', 'type'],
    [
      ...probeRules,
      {
        rule: "self.type == 'icmp' || has(self.port)",
        message: 'tcp, udp and http probes need a port',
        fieldPath: '.port',
      },
    ],
  ),
  status: obj('Probe results.', {
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    healthyTargets: int('Targets currently healthy.', { minimum: 0 }),
    targets: arr(
      'Result per target.',
      obj('The state of one target.', {
        target: str('The target: Kind/namespace/name or the address.'),
        address: str('Address probed.', { maxLength: 45 }),
        healthy: bool('Whether the target passes.'),
        lastProbeTime: str('When it was last probed.', { format: 'date-time' }),
        lastTransitionTime: str('When healthy last changed.', { format: 'date-time' }),
        consecutiveFailures: int('Failures in a row.', { minimum: 0 }),
        consecutiveSuccesses: int('Successes in a row.', { minimum: 0 }),
        message: str('Details of the last result.', { maxLength: 1024 }),
      }),
      { maxItems: 256 },
    ),
  }),
  printerColumns: [
    { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'Probe type.' },
    { name: 'Port', type: 'integer', jsonPath: '.spec.port', description: 'Probed port.' },
    { name: 'Healthy', type: 'integer', jsonPath: '.status.healthyTargets', description: 'Healthy targets.' },
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Ready condition.',
    },
  ],
};

export const bareMetalServerCrd: CrdDefinition = {
  kind: 'BareMetalServer',
  plural: 'baremetalservers',
  singular: 'baremetalserver',
  namespaced: false,
  shortNames: ['bms'],
  description:
    'A physical server outside Kubernetes with an address in a Subnet, usable as a YusurService backend. ' +
    'Cluster-scoped like Nodes: machines are shared infrastructure. YusurServices select them by metadata.labels.',
  spec: obj(
    "The server's attachment.",
    {
      vpc: name('The Vpc the server is in.'),
      subnet: name('The Subnet its address belongs to.'),
      ip: ip("The server's address."),
      mac: mac("The server NIC's MAC, for a static neighbour entry; optional."),
      node: name(
        'Node (OVN chassis) carrying the server\'s port (a DPU representor or the OVS port it is cabled to): ' +
          'the port is bound there only. Default: wherever an OVS interface with iface-id bms.<name> appears. A Node ' +
          'that does not exist: Ready=False, reason NodeNotFound naming it, and no port until the Node appears.',
      ),
    },
    ['vpc', 'subnet', 'ip'],
  ),
  status: obj('Observed state.', { observedGeneration: observedGeneration(), conditions: conditions() }),
  printerColumns: [
    { name: 'Vpc', type: 'string', jsonPath: '.spec.vpc', description: 'VPC.' },
    { name: 'Subnet', type: 'string', jsonPath: '.spec.subnet', description: 'Subnet.' },
    { name: 'IP', type: 'string', jsonPath: '.spec.ip', description: 'Address.' },
    { name: 'Node', type: 'string', jsonPath: '.spec.node', description: 'Node carrying the port.' },
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Ready condition.',
    },
  ],
};

export const vnicCrd: CrdDefinition = {
  kind: 'VNic',
  plural: 'vnics',
  singular: 'vnic',
  namespaced: true,
  shortNames: ['vnic'],
  description: 'An extra virtual NIC (an OVN logical switch port) in a Subnet, optionally attached to a pod or VM.',
  spec: obj(
    'Desired NIC.',
    {
      subnet: name('Subnet of the NIC.'),
      ip: ip('Fixed address; default: allocated.'),
      mac: mac('Fixed MAC; default: derived from the address.'),
      attachedTo: obj(
        'The pod or VM in this namespace that carries the NIC. Only a Pod or VM: a VNic attached to itself or to ' +
          'another VNic is refused at admission (spec.attachedTo.kind). A Pod that does not exist: the port and ' +
          'address are kept, Ready=False with reason PodNotFound until the pod appears, then bound to its node.',
        {
          kind: str('Pod or VM (KubeVirt VirtualMachineInstance).', { enum: ['Pod', 'VM'] }),
          name: name('Object name.'),
        },
        ['kind', 'name'],
      ),
    },
    ['subnet'],
  ),
  status: obj('Observed state.', {
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    ip: str('Allocated address.', { maxLength: 45 }),
    mac: str('MAC in use.', { maxLength: 17 }),
    logicalSwitchPort: str('OVN logical switch port name.'),
  }),
  printerColumns: [
    { name: 'Subnet', type: 'string', jsonPath: '.spec.subnet', description: 'Subnet.' },
    { name: 'IP', type: 'string', jsonPath: '.status.ip', description: 'Address.' },
    { name: 'MAC', type: 'string', jsonPath: '.status.mac', description: 'MAC.' },
    { name: 'AttachedTo', type: 'string', jsonPath: '.spec.attachedTo.name', description: 'Pod or VM.' },
  ],
};
