export * from './manifest-loader';
export * from './manifest-translator';
export * from './service.manifest-translator';
export * from './translate-manifests';
