import type { YusurService } from '@ycloud/api';
import type { ResolvedBackend } from './backends';

export type ProbePort = { ok: true; port?: number } | { ok: false; message: string };

/**
 * The port the service's backends are probed on: `spec.probe.port`, else the target port of the service's first
 * port (the CRD's "default: each backend's target port"). A named target port must resolve to one number on every
 * backend that has it (a NetworkProbe has one port); icmp probes have none.
 */
export function backendProbePort(svc: YusurService, backends: ResolvedBackend[]): ProbePort {
  const probe = svc.spec.probe;
  if (!probe || probe.type === 'icmp') return { ok: true };
  if (probe.port) return { ok: true, port: probe.port };
  const first = svc.spec.ports?.[0];
  if (!first) return { ok: false, message: 'spec.probe.port is not set and the service has no port' };
  const target = first.targetPort ?? first.port;
  if (typeof target === 'number') return { ok: true, port: target };
  const numbers = new Set(backends.map((b) => b.namedPorts?.[target]).filter((p): p is number => p !== undefined));
  if (numbers.size === 1) return { ok: true, port: [...numbers][0] };
  if (!numbers.size) return { ok: false, message: `no backend has a port named ${target}: set spec.probe.port` };
  const list = [...numbers].sort((a, b) => a - b).join(', ');
  return { ok: false, message: `port ${target} is ${list} on different backends: set spec.probe.port` };
}
