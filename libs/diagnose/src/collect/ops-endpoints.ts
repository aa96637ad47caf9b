import * as http from 'node:http';
import { KubeClient, KubeObject, Resources } from '@ycloud/k8s';
import { DIAGNOSE_DEFAULTS } from '../routes';

/** How diagnose reaches the controller's and the node agents' diagnose routes. */
export interface OpsEndpoints {
  controller(path: string, query: Record<string, string>): Promise<unknown>;
  agent(node: string, path: string, query: Record<string, string>): Promise<unknown>;
  /** Words for the output: how the components were reached. */
  readonly via: string;
}

/**
 * Through the kube-apiserver's proxy, with nothing but the user's kubeconfig (RBAC: `services/proxy` and
 * `pods/proxy` in ycloud's namespace): the controller behind its Service, each agent by its pod on the node.
 */
export class ApiserverProxyEndpoints implements OpsEndpoints {
  readonly via = 'kube-apiserver proxy';
  /** Per node: its agent pod and the port of the pod's ops server. */
  private agents?: Promise<Map<string, { pod: string; port: number }>>;

  constructor(
    private readonly kube: KubeClient,
    private readonly opts: {
      namespace?: string;
      controllerService?: string;
      controllerPort?: string | number;
      agentSelector?: string;
      agentPort?: number;
    } = {},
  ) {}

  private get ns(): string {
    return this.opts.namespace ?? DIAGNOSE_DEFAULTS.namespace;
  }

  async controller(path: string, query: Record<string, string>): Promise<unknown> {
    const svc = `${this.opts.controllerService ?? DIAGNOSE_DEFAULTS.controllerService}:${this.opts.controllerPort ?? DIAGNOSE_DEFAULTS.controllerPort}`;
    const p = `/api/v1/namespaces/${this.ns}/services/${svc}/proxy${path}`;
    // The Service spreads requests over every replica; only the leader has a Northbound view.
    let last: unknown;
    for (let i = 0; i < 6; i++) {
      try {
        return await this.kube.request('GET', p, { query });
      } catch (e) {
        last = e;
        if (!/standby|503/.test(String((e as Error).message))) break;
      }
    }
    throw last;
  }

  async agent(node: string, path: string, query: Record<string, string>): Promise<unknown> {
    this.agents ??= this.kube
      .list<KubeObject & { spec?: AgentPodSpec }>(Resources.pods, this.ns, {
        labelSelector: this.opts.agentSelector ?? DIAGNOSE_DEFAULTS.agentSelector,
      })
      .then(
        (l) =>
          new Map(
            l.items.map((p) => [
              p.spec?.nodeName ?? '',
              { pod: p.metadata?.name ?? '', port: this.opts.agentPort ?? opsPort(p.spec) },
            ]),
          ),
      );
    const agent = (await this.agents).get(node);
    if (!agent) throw new Error(`no ycloud agent pod on node ${node} in ${this.ns}`);
    return this.kube.request('GET', `/api/v1/namespaces/${this.ns}/pods/${agent.pod}:${agent.port}/proxy${path}`, {
      query,
    });
  }
}

interface AgentPodSpec {
  nodeName?: string;
  containers?: { ports?: { name?: string; containerPort: number }[] }[];
}

/** The agent pod's `metrics` port (an install may move it, e.g. the chart's agent.metricsPort), else the default. */
function opsPort(spec: AgentPodSpec | undefined): number {
  for (const c of spec?.containers ?? []) {
    const p = c.ports?.find((x) => x.name === 'metrics');
    if (p) return p.containerPort;
  }
  return DIAGNOSE_DEFAULTS.agentPort;
}

/**
 * Straight to the components' ops addresses: the documented fallback where the apiserver cannot proxy to them
 * (the sandbox and test bed run them on loopback, which the apiserver refuses to proxy to).
 */
export class DirectEndpoints implements OpsEndpoints {
  readonly via = 'direct ops addresses';

  constructor(
    private readonly controllerUrl: string | undefined,
    private readonly agentUrls: Record<string, string>,
  ) {}

  controller(path: string, query: Record<string, string>): Promise<unknown> {
    if (!this.controllerUrl) return Promise.reject(new Error('no controller address given (--controller-url)'));
    return getJson(this.controllerUrl, path, query);
  }

  agent(node: string, path: string, query: Record<string, string>): Promise<unknown> {
    const base = this.agentUrls[node];
    if (!base) return Promise.reject(new Error(`no agent address for node ${node} (--agent-url ${node}=URL)`));
    return getJson(base, path, query);
  }
}

/** GET a JSON route; a non-2xx answer rejects with its `error` text. */
export function getJson(
  base: string,
  path: string,
  query: Record<string, string>,
  timeoutMs = 30_000,
): Promise<unknown> {
  const url = new URL(path, base);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON: keep the text */
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(body);
        else {
          const msg = (body as { error?: string })?.error ?? (typeof body === 'string' ? body.trim() : '');
          reject(new Error(`${url.pathname}: HTTP ${status}${msg ? `: ${msg}` : ''}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.href} timed out`)));
    req.on('error', reject);
  });
}
