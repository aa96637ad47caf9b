import type { ControllerRegistration } from './common/registration';
import { networkAttachmentRegistration } from './attachment/network-attachment.registration';
import { serviceEipRegistration } from './eip/service-eip.registration';
import { nodeNetworkRegistration } from './node/node-network.registration';
import { podNetworkRegistration } from './pod/pod-network.registration';
import { networkProbeRegistration } from './probe/network-probe.registration';
import { serviceRegistration } from './service/service.registration';
import { defaultTopologyRegistration } from './topology/default-topology.registration';
import { topologyRegistration } from './topology/topology.registration';
import { yusurServiceRegistration } from './yusur/yusur-service.registration';

/**
 * Every controller of ycloud, in set-up order: the default topology first (the others' rows hang off its switches
 * and LB group), then the rest. Adding a controller: its folder exports a registration, and it goes here.
 */
export const CONTROLLERS: readonly ControllerRegistration[] = [
  defaultTopologyRegistration,
  serviceRegistration,
  podNetworkRegistration,
  nodeNetworkRegistration,
  topologyRegistration,
  serviceEipRegistration,
  networkProbeRegistration,
  yusurServiceRegistration,
  networkAttachmentRegistration,
];
