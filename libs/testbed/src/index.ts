export * from './process';
export * from './ovsdb-server';
export * from './netns';
export * from './ovn-central';
export * from './ovn-node';
export * from './ovn-trace';
export * from './testbed';
export * from './traffic';
