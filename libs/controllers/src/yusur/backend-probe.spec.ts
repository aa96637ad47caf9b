import { API_VERSION, type YusurService } from '@ycloud/api';
import { backendProbePort } from './backend-probe';
import type { ResolvedBackend } from './backends';

const svc = (probe: YusurService['spec']['probe'], ports: YusurService['spec']['ports']): YusurService => ({
  apiVersion: API_VERSION,
  kind: 'YusurService',
  metadata: { name: 'web', namespace: 'default' },
  spec: { backends: [{ kind: 'Pod', selector: {} }], ports, scenarios: { clusterIP: {} }, probe },
});
const backend = (name: string, namedPorts?: Record<string, number>): ResolvedBackend => ({
  kind: 'Pod',
  name: `default/${name}`,
  vpc: 'default',
  address: '10.16.0.5',
  namedPorts,
  ref: { kind: 'Pod', name, namespace: 'default' },
  target: `Pod/default/${name}`,
});

describe('backendProbePort', () => {
  const tcp = { type: 'tcp' as const };

  it('uses spec.probe.port when given, none for icmp', () => {
    expect(backendProbePort(svc({ ...tcp, port: 9000 }, [{ port: 80, targetPort: 8080 }]), [])).toEqual({
      ok: true,
      port: 9000,
    });
    expect(backendProbePort(svc({ type: 'icmp' }, [{ port: 80 }]), [])).toEqual({ ok: true });
  });

  it("defaults to the first port's numeric target port (or the port itself)", () => {
    expect(
      backendProbePort(
        svc(tcp, [
          { port: 80, targetPort: 8080 },
          { port: 81, targetPort: 9090 },
        ]),
        [],
      ),
    ).toEqual({
      ok: true,
      port: 8080,
    });
    expect(backendProbePort(svc(tcp, [{ port: 80 }]), [])).toEqual({ ok: true, port: 80 });
  });

  it('resolves a named target port when the backends agree on its number, else says what to set', () => {
    const s = svc(tcp, [{ port: 80, targetPort: 'http' }]);
    expect(backendProbePort(s, [backend('a', { http: 8080 }), backend('b', { http: 8080 }), backend('c')])).toEqual({
      ok: true,
      port: 8080,
    });
    expect(backendProbePort(s, [backend('a', { http: 8080 }), backend('b', { http: 8081 })])).toEqual({
      ok: false,
      message: 'port http is 8080, 8081 on different backends: set spec.probe.port',
    });
    expect(backendProbePort(s, [backend('a')])).toEqual({
      ok: false,
      message: 'no backend has a port named http: set spec.probe.port',
    });
  });
});
