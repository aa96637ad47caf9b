/**
 * Labels and names that decide which Kubernetes Services ycloud serves. They cross process boundaries (the
 * controller and the node agent both filter on them), so they are defined here once.
 */

/** A Service carrying this label (any value) belongs to another service proxy; kube-proxy ignores it too. */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';

/** A Service carrying this label is headless for proxies: no VIP is programmed (kube-proxy's informer filter). */
export const SERVICE_HEADLESS_LABEL = 'service.kubernetes.io/headless';

/**
 * The label selector of the Services a proxy serves, as kube-proxy builds it: neither label present. Applied on
 * the Service informers, so a Service that gains a label looks deleted and one that loses it looks added.
 */
export const PROXIED_SERVICES_SELECTOR = `!${SERVICE_PROXY_NAME_LABEL},!${SERVICE_HEADLESS_LABEL}`;

/** `spec.loadBalancerClass` ycloud's EIP allocation answers to by default (besides Services with no class). */
export const DEFAULT_LOAD_BALANCER_CLASS = 'ycloud.io/eip';
