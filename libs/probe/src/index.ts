export * from './target-state';
export * from './probe-scheduler';
export * from './netns-probe-worker';
export * from './prober';
export * from './probe-port';
