export * from './common/ports';
export * from './northbound/northbound';
export * from './service/service-load-balancer.controller';
export * from './topology/default-topology.controller';
export * from './controller-manager';
export * from './ipam/subnet-ipam';
export * from './pod/pod-network.controller';
export * from './node/node-network.controller';
