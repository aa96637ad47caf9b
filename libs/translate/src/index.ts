export * from './service';
export * from './manifests';
