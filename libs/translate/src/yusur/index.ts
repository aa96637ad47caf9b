export * from './keys';
export * from './yusur-service.translator';
export * from './yusur.manifest-translator';
