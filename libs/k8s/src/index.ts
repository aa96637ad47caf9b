export * from './logger';
export * from './rate-limiter';
export * from './work-queue';
export * from './metrics';
export * from './controller';
