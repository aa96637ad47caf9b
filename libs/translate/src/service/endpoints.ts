import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { LbBackend } from '../lb/load-balancer.model';
import { SERVICE_NAME_LABEL, ipFamilyOf, parseIpAddress, type ParsedIp } from '@ycloud/api';
import { isValidPort } from '../lb/address';
import type { ServiceIssue } from './service.translator';

interface SlicePort {
  name: string;
  protocol: string;
  port: number;
}

interface SliceEndpoint {
  ip: ParsedIp;
  nodeName?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  hints?: { zones: string[]; nodes: string[] };
}

/** An EndpointSlice checked once: its valid ports and endpoints. */
export interface ParsedSlice {
  name: string;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

/** Does this slice belong to the Service? (Slices are matched by label, as kube-proxy does.) */
export function sliceBelongsTo(slice: V1EndpointSlice, namespace: string, name: string): boolean {
  return (
    (slice.metadata?.namespace ?? 'default') === namespace && slice.metadata?.labels?.[SERVICE_NAME_LABEL] === name
  );
}

function parseSlicePorts(slice: V1EndpointSlice, object: string, warnings: ServiceIssue[]): SlicePort[] {
  const ports: SlicePort[] = [];
  (slice.ports ?? []).forEach((p, i) => {
    // A port without a number means "all ports", which only applies to Services without ports: nothing to map.
    if (p.port === undefined || p.port === null) return;
    if (!isValidPort(p.port)) {
      warnings.push({
        reason: 'InvalidEndpointSlice',
        object,
        field: `ports[${i}].port`,
        message: `port ${String(p.port)} is not in 1-65535`,
      });
      return;
    }
    ports.push({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port });
  });
  return ports;
}

function parseSliceEndpoints(slice: V1EndpointSlice, object: string, warnings: ServiceIssue[]): SliceEndpoint[] {
  const family = ipFamilyOf(slice.addressType) ?? 4;
  const endpoints: SliceEndpoint[] = [];
  (slice.endpoints ?? []).forEach((ep, i) => {
    // The API allows several addresses per endpoint but consumers use only the first one (as kube-proxy does).
    const text = ep.addresses?.[0];
    const ip = parseIpAddress(text);
    if (!ip || ip.family !== family) {
      warnings.push({
        reason: 'InvalidEndpointSlice',
        object,
        field: `endpoints[${i}].addresses[0]`,
        message: `${JSON.stringify(text)} is not an IPv${family} address (addressType ${slice.addressType})`,
      });
      return;
    }
    const c = ep.conditions ?? {};
    // Unset conditions: ready means ready; serving defaults to ready; terminating defaults to false. `ready` is
    // taken as the slice says, terminating or not: with publishNotReadyAddresses the EndpointSlice controller
    // keeps a terminating endpoint ready=true, and kube-proxy uses it.
    const ready = c.ready !== false;
    const serving = c.serving ?? c.ready !== false;
    const zones = (ep.hints?.forZones ?? []).map((z) => z?.name).filter((n): n is string => !!n);
    const nodes = (ep.hints?.forNodes ?? []).map((n) => n?.name).filter((n): n is string => !!n);
    endpoints.push({
      ip,
      nodeName: ep.nodeName,
      ready,
      serving,
      terminating: c.terminating === true,
      ...(zones.length || nodes.length ? { hints: { zones: zones.sort(), nodes: nodes.sort() } } : {}),
    });
  });
  return endpoints;
}

/** Validates slices once; FQDN slices are not something a load balancer can use. */
export function parseSlices(slices: V1EndpointSlice[], warnings: ServiceIssue[]): ParsedSlice[] {
  const sorted = [...slices].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  const parsed: ParsedSlice[] = [];
  for (const slice of sorted) {
    const name = slice.metadata?.name ?? '';
    const object = `EndpointSlice ${slice.metadata?.namespace ?? 'default'}/${name}`;
    if (!ipFamilyOf(slice.addressType)) {
      warnings.push({
        reason: 'InvalidEndpointSlice',
        object,
        field: 'addressType',
        message: `addressType ${slice.addressType} is not supported`,
      });
      continue;
    }
    parsed.push({
      name,
      ports: parseSlicePorts(slice, object, warnings),
      endpoints: parseSliceEndpoints(slice, object, warnings),
    });
  }
  return parsed;
}

/**
 * Backends of one Service port: each slice maps the port by name and protocol to its own target port number,
 * which is how named targetPorts resolve differently per Pod.
 */
export function endpointsForPort(slices: ParsedSlice[], portName: string, protocol: string): LbBackend[] {
  const out: LbBackend[] = [];
  for (const slice of slices) {
    const sp = slice.ports.find((p) => p.name === portName && p.protocol === protocol);
    if (!sp) continue;
    for (const ep of slice.endpoints) {
      out.push({
        address: ep.ip,
        port: sp.port,
        node: ep.nodeName,
        ready: ep.ready,
        serving: ep.serving,
        terminating: ep.terminating,
        ...(ep.hints ? { hints: ep.hints } : {}),
      });
    }
  }
  return out;
}
