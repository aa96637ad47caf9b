export type { IpFamily } from './ip';
export * from './naming';
export * from './service-context';
export { SERVICE_NAME_LABEL, sliceBelongsTo } from './endpoints';
export * from './service.translator';
export * from './chassis-template-var.translator';
export * from './source-ranges';
