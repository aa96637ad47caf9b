export * from './naming';
export * from './service-context';
export { sliceBelongsTo } from './endpoints';
export * from './service.translator';
export * from './chassis-template-var.translator';
export * from './service-inputs';
export * from './source-ranges';
export * from './node-reply-routes';
export * from './eip-router-lbs';
