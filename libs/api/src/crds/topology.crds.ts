import {
  CrdDefinition,
  Rule,
  arr,
  cidr,
  conditions,
  int,
  ip,
  label,
  name,
  obj,
  observedGeneration,
  str,
} from './schema-builder';

const immutable = (what: string): Rule => ({ rule: 'self == oldSelf', message: `${what} is immutable` });
const namespaces = (what: string) =>
  arr(`Namespaces ${what}.`, label('A namespace name.'), { maxItems: 1024, 'x-kubernetes-list-type': 'set' });

export const vpcCrd: CrdDefinition = {
  kind: 'Vpc',
  plural: 'vpcs',
  singular: 'vpc',
  namespaced: false,
  shortNames: ['vpc'],
  description:
    'A virtual private cloud: one distributed OVN logical router (vpc-<name>) joining its Subnets, with its own ' +
    'load balancer group for Services and, optionally, an external gateway through an EipPool. The name of the ' +
    'built-in VPC (controller config defaultVpc, "default") is reserved: refused at admission, and a Vpc of that ' +
    'name is ignored and reported (Ready=False, reason NameReserved).',
  spec: obj('Desired state of the VPC.', {
    namespaces: namespaces(
      'whose pods and Services belong to this VPC. A namespace belongs to at most one VPC: when two Vpcs list it, the ' +
        'first by name has it and the other is reported (Ready=False, reason NamespaceClaimed, and an Event)',
    ),
    staticRoutes: arr(
      'Extra static routes on the VPC router.',
      obj(
        'A static route.',
        {
          cidr: cidr('Prefix the route matches, e.g. 192.168.0.0/16 or 0.0.0.0/0.'),
          nextHop: ip('Next hop address; same family as cidr.'),
          policy: str('dst-ip matches the destination (default), src-ip the source.', {
            enum: ['dst-ip', 'src-ip'],
            default: 'dst-ip',
          }),
        },
        ['cidr', 'nextHop'],
        [
          {
            rule: '!isCIDR(self.cidr) || !isIP(self.nextHop) || cidr(self.cidr).ip().family() == ip(self.nextHop).family()',
            message: 'nextHop must be of the same address family as cidr',
            fieldPath: '.nextHop',
          },
        ],
      ),
      { maxItems: 256 },
    ),
    serviceCIDRs: arr(
      'CIDRs (one per family) YusurService ClusterIPs of this VPC are allocated from.',
      cidr('A service CIDR.'),
      { maxItems: 2 },
    ),
    externalGateway: obj(
      "North-south access: the EipPool whose gateway router carries this VPC's external traffic. Every Eip bound to a " +
        'Service of this VPC must come from this pool. Absent: no external access.',
      { eipPool: name('Name of the EipPool.') },
      ['eipPool'],
    ),
  }),
  status: obj('Observed state of the VPC.', {
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    router: str('Name of the OVN Logical_Router.'),
    subnets: arr('Subnets attached to this VPC.', str('A Subnet name.'), { maxItems: 4096 }),
    transitAddress: ip(
      "Address of the router's gateway port on the EipPool transit switch (allocated by the controller).",
      4,
    ),
  }),
  printerColumns: [
    { name: 'Router', type: 'string', jsonPath: '.status.router', description: 'OVN logical router.' },
    { name: 'Subnets', type: 'string', jsonPath: '.status.subnets', description: 'Attached subnets.' },
    {
      name: 'EipPool',
      type: 'string',
      jsonPath: '.spec.externalGateway.eipPool',
      description: 'External gateway pool.',
    },
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Ready condition.',
    },
  ],
};

export const subnetCrd: CrdDefinition = {
  kind: 'Subnet',
  plural: 'subnets',
  singular: 'subnet',
  namespaced: false,
  shortNames: ['subnet', 'sn'],
  description:
    'An L2 segment of a Vpc: one OVN logical switch (subnet-<name>) attached to the VPC router, with addresses ' +
    'allocated by ycloud IPAM. IPv4, IPv6 or dual stack. The names of the built-in subnets (controller config ' +
    'defaultSubnet and joinSubnet, "default" and "join") are reserved: refused at admission, and a Subnet of ' +
    'such a name is ignored and reported (Ready=False, reason NameReserved).',
  spec: obj(
    'Desired state of the subnet.',
    {
      vpc: { ...name('The Vpc this subnet belongs to. Immutable.'), 'x-kubernetes-validations': [immutable('vpc')] },
      cidrBlocks: arr(
        'One IPv4 and/or one IPv6 CIDR, e.g. ["10.16.0.0/16", "fd00:10:16::/64"]. Immutable. Overlapping the join subnet, ' +
          'the Service CIDRs, the EIP transit or service-gateway link networks (any VPC) or the default subnet (default ' +
          'VPC) is refused at admission (deploy/base ValidatingAdmissionPolicy) and reported by the controller ' +
          '(CidrOverlap). Overlapping another Subnet of the VPC: the one already serving (Ready) keeps its claim, else ' +
          'the older, else the first by name; the other is Ready=False with reason CidrOverlap naming the winner. A ' +
          "Service with a ClusterIP of a family none of its VPC's Subnets has (an IPv6 ClusterIP in an IPv4-only VPC) " +
          'is still programmed and gets a Warning Event (IPFamilyNotInVpc) naming spec.clusterIPs[i] and the Vpc.',
        cidr('A CIDR with host bits zero.'),
        { minItems: 1, maxItems: 2 },
        [
          immutable('cidrBlocks'),
          {
            rule: 'self.size() < 2 || !isCIDR(self[0]) || !isCIDR(self[1]) || cidr(self[0]).ip().family() != cidr(self[1]).ip().family()',
            message: 'at most one IPv4 and one IPv6 CIDR',
          },
        ],
      ),
      gateways: arr(
        'Gateway (router port) address per family; default: the first host of each CIDR.',
        ip('A gateway address inside one of cidrBlocks.'),
        { maxItems: 2 },
      ),
      excludeIps: arr(
        'Addresses never allocated: an IP or a range start..end. Network, gateway and broadcast addresses always are. A ' +
          'reversed range or one outside cidrBlocks is accepted by the schema (CEL cannot order addresses) and reported: ' +
          'Ready=False, reason InvalidExcludeIps, naming the entry; the Subnet hands out no address until it is fixed.',
        str('An IP, or an inclusive range like 10.16.0.2..10.16.0.20.', { maxLength: 93 }, [
          {
            rule: "isIP(self) || (self.split('..').size() == 2 && isIP(self.split('..')[0]) && isIP(self.split('..')[1]))",
            message: 'must be an IP or a range start..end of IPs',
          },
        ]),
        { maxItems: 1024 },
      ),
      namespaces: namespaces('whose pods get addresses from this subnet'),
      role: str('pod: workload addresses; join: node addresses on the default VPC router (node ports).', {
        enum: ['pod', 'join'],
        default: 'pod',
      }),
      mtu: int('Interface MTU given to pods; default from the controller config.', { minimum: 1280, maximum: 9000 }),
    },
    ['vpc', 'cidrBlocks'],
    [
      {
        rule: '!has(self.gateways) || self.gateways.all(g, !isIP(g) || self.cidrBlocks.exists(c, isCIDR(c) && cidr(c).containsIP(g)))',
        message: 'each gateway must be inside one of cidrBlocks',
        fieldPath: '.gateways',
      },
    ],
  ),
  status: obj('Observed state of the subnet.', {
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    logicalSwitch: str('Name of the OVN Logical_Switch.'),
    v4: obj('IPv4 address counts.', {
      used: int('Allocated addresses.', { minimum: 0 }),
      available: int('Free addresses.', { format: 'int64', minimum: 0 }),
    }),
    v6: obj('IPv6 address counts (available saturates at 2^63-1).', {
      used: int('Allocated addresses.', { minimum: 0 }),
      available: int('Free addresses.', { format: 'int64', minimum: 0 }),
    }),
  }),
  printerColumns: [
    { name: 'Vpc', type: 'string', jsonPath: '.spec.vpc', description: 'Owning VPC.' },
    { name: 'CIDR', type: 'string', jsonPath: '.spec.cidrBlocks', description: 'Address blocks.' },
    { name: 'Role', type: 'string', jsonPath: '.spec.role', description: 'pod or join.' },
    { name: 'V4Used', type: 'integer', jsonPath: '.status.v4.used', description: 'IPv4 addresses in use.' },
    { name: 'V4Avail', type: 'integer', jsonPath: '.status.v4.available', description: 'IPv4 addresses free.' },
    {
      name: 'V6Used',
      type: 'integer',
      jsonPath: '.status.v6.used',
      description: 'IPv6 addresses in use.',
      priority: 1,
    },
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Ready condition.',
    },
  ],
};

export const eipPoolCrd: CrdDefinition = {
  kind: 'EipPool',
  plural: 'eippools',
  singular: 'eippool',
  namespaced: false,
  shortNames: ['eippool', 'eipp'],
  description:
    'External (elastic) addresses on one physical network: an OVN external switch with a localnet port and a ' +
    "gateway router hosted on one of gatewayNodes, answering ARP for the pool's bound Eips.",
  spec: obj(
    'Desired state of the pool.',
    {
      networkName: str('OVN localnet network_name; gateway nodes map it to a bridge (ovn-bridge-mappings).', {
        minLength: 1,
        maxLength: 64,
        pattern: '^[A-Za-z0-9_.-]+$',
      }),
      cidr: cidr('The external network (IPv4), e.g. 172.18.0.0/16: prefix of the gateway router port.', 4),
      ranges: arr(
        'Allocatable addresses: CIDRs or start-end ranges inside cidr; default: all of cidr except gateway and router ' +
          'addresses. A reversed range is reported (Ready=False, reason InvalidRange, naming the entry) and the pool ' +
          'hands out no address until it is fixed. A LoadBalancer Service whose spec.loadBalancerIP (or whose named ' +
          "Eip's spec.address) is outside these ranges gets no EIP and a Warning Event (AddressOutsidePool) naming the " +
          'field, the address and the ranges.',
        str('A CIDR (172.18.10.0/24) or a range (172.18.10.5-172.18.10.50).', { maxLength: 93 }, [
          {
            rule: "isCIDR(self) || (self.split('-').size() == 2 && isIP(self.split('-')[0]) && isIP(self.split('-')[1]))",
            message: 'must be a CIDR or a range start-end',
          },
        ]),
        { maxItems: 64 },
      ),
      gateway: ip("Upstream next hop on the external network: the gateway router's default route.", 4),
      routerAddress: ip(
        "The gateway router's own address on the external network; default: the first host of cidr.",
        4,
      ),
      vlan: int('VLAN tag of the external network, if tagged.', { minimum: 1, maximum: 4094 }),
      gatewayNodes: arr(
        'Nodes (OVN chassis names) that may host the gateway router, in order of preference. Names of Nodes that do not ' +
          'exist are reported (Ready=False, reason NodeNotFound); the pool is still programmed for the others.',
        name('A node name.'),
        {
          minItems: 1,
          maxItems: 16,
          'x-kubernetes-list-type': 'set',
        },
      ),
    },
    ['networkName', 'cidr', 'gateway', 'gatewayNodes'],
    [
      {
        rule: '!isCIDR(self.cidr) || !isIP(self.gateway) || cidr(self.cidr).containsIP(self.gateway)',
        message: 'gateway must be inside cidr',
        fieldPath: '.gateway',
      },
      {
        rule: '!has(self.routerAddress) || !isCIDR(self.cidr) || !isIP(self.routerAddress) || cidr(self.cidr).containsIP(self.routerAddress)',
        message: 'routerAddress must be inside cidr',
        fieldPath: '.routerAddress',
      },
    ],
  ),
  status: obj('Observed state of the pool.', {
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    used: int('Addresses allocated to Eips.', { minimum: 0 }),
    free: int('Addresses still free.', { minimum: 0 }),
    activeGatewayNode: str('Node that hosts the gateway router now (chosen by the controller among gatewayNodes).'),
  }),
  printerColumns: [
    { name: 'Network', type: 'string', jsonPath: '.spec.networkName', description: 'Localnet network name.' },
    { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr', description: 'External network.' },
    {
      name: 'Active',
      type: 'string',
      jsonPath: '.status.activeGatewayNode',
      description: 'Node hosting the gateway router.',
    },
    { name: 'Used', type: 'integer', jsonPath: '.status.used', description: 'Allocated addresses.' },
    { name: 'Free', type: 'integer', jsonPath: '.status.free', description: 'Free addresses.' },
  ],
};

export const eipCrd: CrdDefinition = {
  kind: 'Eip',
  plural: 'eips',
  singular: 'eip',
  namespaced: false,
  shortNames: ['eip'],
  description: 'One external address from an EipPool, optionally bound to a Service or YusurService.',
  spec: obj(
    'Desired state of the Eip.',
    {
      pool: { ...name('EipPool the address comes from. Immutable.'), 'x-kubernetes-validations': [immutable('pool')] },
      address: ip('A fixed address inside the pool; default: the controller picks one.', 4),
      binding: obj(
        'The one service that uses this address.',
        {
          kind: str('Kind of the bound service.', { enum: ['Service', 'YusurService'] }),
          namespace: label('Namespace of the service.'),
          name: name('Name of the service.'),
        },
        ['kind', 'namespace', 'name'],
      ),
    },
    ['pool'],
    [
      {
        rule: '!has(oldSelf.address) || (has(self.address) && self.address == oldSelf.address)',
        message: 'address cannot be changed or removed once set',
        fieldPath: '.address',
      },
    ],
  ),
  status: obj('Observed state of the Eip.', {
    observedGeneration: observedGeneration(),
    conditions: conditions(),
    address: ip('The allocated address.', 4),
    boundTo: str('Kind/namespace/name of the bound service.'),
    vpc: str('Vpc of the bound service; its router carries the load balancer for this address.'),
  }),
  printerColumns: [
    { name: 'Pool', type: 'string', jsonPath: '.spec.pool', description: 'EipPool.' },
    { name: 'Address', type: 'string', jsonPath: '.status.address', description: 'Allocated address.' },
    { name: 'BoundTo', type: 'string', jsonPath: '.status.boundTo', description: 'Bound service.' },
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Ready condition.',
    },
  ],
};
