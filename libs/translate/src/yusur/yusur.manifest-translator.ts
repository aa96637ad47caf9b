import { OWNER_KINDS, type BareMetalServer, type EipPool, type Vpc, type YusurService } from '@ycloud/api';
import { kindOf, vpcOfNamespace, type ManifestTranslator } from '../manifests/manifest-translator';
import type { KubeObject } from '../manifests/manifest-loader';
import type { TranslationIssue } from '../translation-issue';
import { translateYusurService, type ServiceGatewayLinks, type YusurBackend } from './yusur-service.translator';

const G = 'sdn.ycloud.io';

/** matchLabels only: enough for previews; the controller evaluates full selectors. */
function matches(labels: Record<string, string> | undefined, sel: { matchLabels?: Record<string, string> }): boolean {
  return Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
}

/**
 * `ycloud translate` for YusurServices: Pod and BareMetalServer backends from the manifests (Pods need
 * status.podIP), addresses from spec (clusterIP.address, eip.address + eip.pool), and, for a service-gateway,
 * link networks numbered from 100.66.0.0/16 in service order (a preview: the controller allocates them).
 */
export const yusurManifestTranslator: ManifestTranslator = {
  name: 'yusur',
  kinds: [`${G}/YusurService`, 'Pod', `${G}/BareMetalServer`, `${G}/Vpc`, `${G}/EipPool`],
  translate(objects, ctx) {
    const of = <T>(kind: string): T[] => objects.filter((o) => kindOf(o) === kind) as unknown as T[];
    const pods = of<KubeObject & { status?: { podIP?: string } }>('Pod');
    const servers = of<BareMetalServer>(`${G}/BareMetalServer`);
    let nextLink = 0;
    const link = (): string => {
      const n = nextLink++ * 4;
      return `100.66.${Math.floor(n / 256)}.${n % 256}/30`;
    };
    return of<YusurService>(`${G}/YusurService`).map((svc) => {
      const ns = svc.metadata.namespace ?? 'default';
      const vpc = svc.spec.scenarios?.clusterIP?.vpc ?? vpcOfNamespace(ctx, ns);
      const backends: YusurBackend[] = [];
      for (const b of svc.spec.backends ?? []) {
        if (b.kind === 'Pod') {
          for (const p of pods) {
            const podNs = p.metadata.namespace ?? 'default';
            if (podNs !== ns || !matches(p.metadata.labels, b.selector) || !p.status?.podIP) continue;
            backends.push({
              kind: 'Pod',
              name: `${podNs}/${p.metadata.name}`,
              vpc: vpcOfNamespace(ctx, podNs),
              address: p.status.podIP,
            });
          }
        } else if (b.kind === 'BareMetal') {
          for (const s of servers.filter((x) => matches(x.metadata.labels, b.selector))) {
            backends.push({ kind: 'BareMetal', name: s.metadata.name, vpc: s.spec.vpc, address: s.spec.ip });
          }
        }
      }
      const eipSpec = svc.spec.scenarios?.eip;
      const backendVpcs = [...new Set(backends.map((x) => x.vpc))].sort();
      const links: ServiceGatewayLinks = { eip: link(), vpcs: Object.fromEntries(backendVpcs.map((v) => [v, link()])) };
      const t = translateYusurService(svc, {
        vpc,
        vpcs: of<Vpc>(`${G}/Vpc`),
        defaultVpc: ctx.defaultVpc,
        eipPools: of<EipPool>(`${G}/EipPool`),
        backends,
        clusterIPs: svc.spec.scenarios?.clusterIP?.address ? [svc.spec.scenarios.clusterIP.address] : [],
        eip: eipSpec?.address && eipSpec.pool ? { address: eipSpec.address, pool: eipSpec.pool } : undefined,
        serviceGatewayLinks: links,
        offloadSelectionFields: ctx.offloadSelectionFields,
      });
      const object = `YusurService ${ns}/${svc.metadata.name}`;
      if (!t.result.ok) {
        return {
          state: {
            owner: { kind: OWNER_KINDS.YusurService, name: `${ns}/${svc.metadata.name}` },
            rows: [],
            memberships: [],
          },
          warnings: t.result.errors.map((e) => ({
            object,
            field: e.field ?? 'spec',
            message: `${e.reason}: ${e.message}`,
          })),
        };
      }
      const preview = previewGaps(svc, backends);
      return {
        state: t.result.state,
        warnings: [...t.result.warnings, ...preview].map((e) => ({
          object,
          field: e.field ?? 'spec',
          message: `${e.reason}: ${e.message}`,
        })),
      };
    });
  },
};

/** What the controller fills in at run time and a preview cannot know: said as warnings rather than left blank. */
function previewGaps(svc: YusurService, backends: YusurBackend[]): TranslationIssue[] {
  const gaps: TranslationIssue[] = [];
  if (svc.spec.scenarios?.clusterIP && !svc.spec.scenarios.clusterIP.address)
    gaps.push({
      reason: 'AllocatedAtRunTime',
      field: 'spec.scenarios.clusterIP.address',
      message: 'not set: the controller allocates the ClusterIP, so this preview has no ClusterIP VIP',
    });
  if (!backends.length)
    gaps.push({
      reason: 'NoBackendsInManifests',
      field: 'spec.backends',
      message: 'no Pod (with status.podIP) or BareMetalServer in the manifests matches: no backends shown',
    });
  return gaps;
}
