export * from './keys';
export * from './result';
export * from './subnet-model';
export * from './vpc.translator';
export * from './subnet.translator';
export * from './pod-port.translator';
export * from './default-topology';
export * from './topology.translator';
