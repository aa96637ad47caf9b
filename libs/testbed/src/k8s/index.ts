export * from './k8s-binaries';
export * from './kube-control-plane';
export * from './cluster-objects';
export * from './kustomize-lite';
export * from './kube-proxy';
export * from './crds';
export * from './kubelet-node';
export * from './testbed-install';
