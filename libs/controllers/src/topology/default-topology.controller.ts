import type { ReconcileContext } from '@ycloud/k8s';
import type { ControllerConfig } from '@ycloud/api';
import type { ApplyRecord, NorthboundApplier } from '@ycloud/ovn';
import { translateDefaultTopology } from '@ycloud/translate/topology';

/** Key of the one item this controller reconciles. */
export const DEFAULT_TOPOLOGY_KEY = 'default-topology';

/**
 * The default VPC (router + LB group) and its pod and join subnets, from the controller's configuration.
 * They exist from start-up so Services and pods in namespaces no Vpc claims have somewhere to go.
 */
export class DefaultTopologyController {
  constructor(
    private readonly config: ControllerConfig,
    private readonly applier: NorthboundApplier,
  ) {}

  async reconcile({ reason }: Pick<ReconcileContext, 'reason'>): Promise<ApplyRecord[]> {
    const result = translateDefaultTopology(this.config);
    if (!result.ok) {
      // The configuration itself is wrong: retrying cannot help, and the process reports it at start.
      throw new Error(`default topology: ${result.errors.map((e) => `${e.field ?? ''} ${e.message}`).join('; ')}`);
    }
    // The VPC first: subnets' switches reference its LB group.
    const records: ApplyRecord[] = [];
    for (const state of result.states) records.push(await this.applier.apply(state, reason));
    return records;
  }
}
