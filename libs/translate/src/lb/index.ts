export * from './address';
export * from './load-balancer.model';
export * from './lb-options';
export * from './load-balancer.builder';
