import type { ControllerRegistration } from '../common/registration';
import { DEFAULT_TOPOLOGY_KEY, DefaultTopologyController } from './default-topology.controller';

/**
 * The default VPC and its pod and join subnets, from the config. Written once in setup, before any other
 * controller starts (Services and pods need its LB group and switches); after that only repair queues its key.
 */
export const defaultTopologyRegistration: ControllerRegistration = {
  name: 'default-topology',
  ownerKey: ({ kind, name }, config) => {
    const builtin =
      (kind === 'Vpc' && name === config.defaultVpc) ||
      (kind === 'Subnet' && (name === config.defaultSubnet.name || name === config.joinSubnet.name));
    return builtin ? DEFAULT_TOPOLOGY_KEY : undefined;
  },
  async setup(b) {
    const { config, northbound } = b.env;
    const topology = new DefaultTopologyController(config, northbound.applier);
    await topology.reconcile({ reason: 'startup' });
    b.resyncKeys(() => [DEFAULT_TOPOLOGY_KEY]);
    return (_key, ctx) => topology.reconcile(ctx);
  },
};
