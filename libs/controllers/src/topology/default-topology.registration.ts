import { OWNER_KINDS, type ControllerConfig } from '@ycloud/api';
import type { ControllerRegistration } from '../common/registration';
import { DEFAULT_TOPOLOGY_KEY, DefaultTopologyController } from './default-topology.controller';

/** Whether an NB owner is the built-in default VPC or one of its subnets (the config's), not a user's object. */
export function isDefaultTopologyOwner(
  { kind, name }: { kind: string; name: string },
  config: ControllerConfig,
): boolean {
  return (
    (kind === OWNER_KINDS.Vpc && name === config.defaultVpc) ||
    (kind === OWNER_KINDS.Subnet && (name === config.defaultSubnet.name || name === config.joinSubnet.name))
  );
}

/**
 * The default VPC and its pod and join subnets, from the config. Written once in setup, before any other
 * controller starts (Services and pods need its LB group and switches); after that only repair queues its key.
 */
export const defaultTopologyRegistration: ControllerRegistration = {
  name: 'default-topology',
  ownerKey: (owner, config) => (isDefaultTopologyOwner(owner, config) ? DEFAULT_TOPOLOGY_KEY : undefined),
  async setup(b) {
    const { config, northbound } = b.env;
    const topology = new DefaultTopologyController(config, northbound.applier);
    await topology.reconcile({ reason: 'startup' });
    b.resyncKeys(() => [DEFAULT_TOPOLOGY_KEY]);
    return (_key, ctx) => topology.reconcile(ctx);
  },
};
