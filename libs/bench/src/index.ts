export * from './service-bench';
export * from './service-bench.report';
export * from './nb-watch';
export * from './cpu-profile';
export * from './controller-process';
export type { RunnerConfig, RunnerStats, ApplySample } from './controller-runner';
