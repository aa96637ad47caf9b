export * from './process';
export * from './ovsdb-server';
export * from './netns';
export * from './ovn-central';
