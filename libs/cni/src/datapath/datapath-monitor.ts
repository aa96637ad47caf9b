import { Gauge, Registry } from 'prom-client';
import { DATAPATH_READY_CONDITION } from '@ycloud/api';
import { EventRecorder, KubeClient, KubeObject, Resources } from '@ycloud/k8s';
import {
  DATAPATH_DAEMONS,
  DatapathVerdict,
  NodeConditionState,
  conditionUpdate,
  datapathVerdict,
} from './datapath-health';
import { DatapathProbe } from './datapath-probe';

interface NodeStatusObject extends KubeObject {
  status?: { conditions?: (NodeConditionState & { type: string })[] };
}

/** `ycloud_agent_datapath_up{daemon}` (1 = answers) and `ycloud_agent_datapath_ready` (the Node condition). */
export class DatapathMetrics {
  readonly up: Gauge;
  readonly ready: Gauge;

  constructor(registry: Registry) {
    this.up = new Gauge({
      name: 'ycloud_agent_datapath_up',
      help: 'Whether a datapath daemon of this node answers on its control socket (1) or not (0)',
      labelNames: ['daemon'],
      registers: [registry],
    });
    this.ready = new Gauge({
      name: 'ycloud_agent_datapath_ready',
      help: `1 when the node's ${DATAPATH_READY_CONDITION} condition is True`,
      registers: [registry],
    });
    // Pre-registered at 0 until the first probe says otherwise.
    for (const d of DATAPATH_DAEMONS) this.up.labels(d).set(0);
    this.ready.set(0);
  }

  set(v: DatapathVerdict): void {
    for (const d of DATAPATH_DAEMONS) this.up.labels(d).set(v.up[d] ? 1 : 0);
    this.ready.set(v.status === 'True' ? 1 : 0);
  }
}

/**
 * Probes the datapath and reports the verdict: the metric every round, the Node condition when it differs from
 * what the Node carries (strategic merge on status.conditions, keyed by type, so kubelet's conditions are left
 * alone), and a Node Event on each transition. Errors from the apiserver are thrown to the caller's tick, which
 * logs them; the next round tries again.
 */
export class DatapathMonitor {
  private last?: DatapathVerdict;

  constructor(
    private readonly nodeName: string,
    private readonly probe: DatapathProbe,
    private readonly client: KubeClient,
    private readonly events: EventRecorder,
    private readonly metrics: DatapathMetrics,
    private readonly log: (line: string) => void,
  ) {}

  /** The latest verdict (undefined before the first round). */
  get verdict(): DatapathVerdict | undefined {
    return this.last;
  }

  async tick(): Promise<void> {
    const verdict = datapathVerdict(await this.probe.probe());
    this.metrics.set(verdict);
    if (this.last?.reason !== verdict.reason) this.log(`datapath: ${verdict.reason}: ${verdict.message}`);
    this.last = verdict;
    const node = await this.client.get<NodeStatusObject>(Resources.nodes, undefined, this.nodeName);
    const current = node.status?.conditions?.find((c) => c.type === DATAPATH_READY_CONDITION);
    const { write, event } = conditionUpdate(current, verdict);
    if (!write) return;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const transitioned = !current || current.status !== verdict.status;
    await this.client.request('PATCH', `/api/v1/nodes/${encodeURIComponent(this.nodeName)}/status`, {
      contentType: 'application/strategic-merge-patch+json',
      body: {
        status: {
          conditions: [
            {
              type: verdict.type,
              status: verdict.status,
              reason: verdict.reason,
              message: verdict.message,
              lastHeartbeatTime: now,
              ...(transitioned ? { lastTransitionTime: now } : {}),
            },
          ],
        },
      },
    });
    if (event) {
      this.events.event(
        { apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: node.metadata?.uid },
        verdict.status === 'True' ? 'Normal' : 'Warning',
        verdict.reason,
        verdict.message,
        'ProbeDatapath',
      );
    }
  }
}
