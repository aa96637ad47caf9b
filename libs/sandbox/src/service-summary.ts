import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL } from '@ycloud/api';

/** One Service as `ycloud sandbox status` shows it. */
export interface ServiceSummary {
  namespace: string;
  name: string;
  clusterIP: string;
  ports: string[];
  readyEndpoints: number;
}

/**
 * The Services (but the apiserver's own `default/kubernetes`) with their ready endpoint addresses, counted over
 * their EndpointSlices. Pure. Every list the API may leave out or send as null (`endpoints: null` is valid for a
 * Service without backends; `ports`, `addresses`, `conditions` likewise) counts as empty.
 */
export function serviceSummaries(
  services: V1Service[] | null | undefined,
  slices: V1EndpointSlice[] | null | undefined,
): ServiceSummary[] {
  const allSlices = slices ?? [];
  return (services ?? [])
    .filter((s) => s.metadata?.namespace !== 'default' || s.metadata?.name !== 'kubernetes')
    .map((s) => ({
      namespace: s.metadata?.namespace ?? '',
      name: s.metadata?.name ?? '',
      clusterIP: s.spec?.clusterIP ?? '',
      ports: (s.spec?.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`),
      readyEndpoints: new Set(
        allSlices
          .filter(
            (sl) =>
              sl.metadata?.namespace === s.metadata?.namespace &&
              sl.metadata?.labels?.[SERVICE_NAME_LABEL] === s.metadata?.name,
          )
          .flatMap((sl) =>
            (sl.endpoints ?? []).filter((e) => e?.conditions?.ready !== false).flatMap((e) => e?.addresses ?? []),
          ),
      ).size,
    }));
}
