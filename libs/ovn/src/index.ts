export * from './desired-state';
export * from './schema-info';
export * from './row-view';
export * from './row-values';
export * from './apply-planner';
export * from './indexed-row-view';
export * from './nb-applier';
export * from './nb-features';
