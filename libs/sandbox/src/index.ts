export * from './sandbox-state';
export * from './sandbox-manifest';
export * from './simulated-kubelet';
export * from './sandbox';
export * from './service-summary';
