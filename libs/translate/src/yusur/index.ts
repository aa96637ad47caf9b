export * from './keys';
export * from './yusur-service.translator';
