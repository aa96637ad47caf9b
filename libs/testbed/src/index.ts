export * from './process';
export * from './ovsdb-server';
