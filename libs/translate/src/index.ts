export * from './lb';
export * from './service';
export * from './manifests';
export * from './topology';
export * from './yusur';
export * from './translation-issue';
