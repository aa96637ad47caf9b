export * from './datapath-tools';
export * from './datapath-testbed';
export * from './datapath-cluster';
export * from './datapath.report';
