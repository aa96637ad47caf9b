import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSandboxManifest } from './sandbox-manifest';
import { parseServe } from './simulated-kubelet';

describe('parseSandboxManifest', () => {
  it('splits deploy/examples/hello.yaml into the namespace, the Service and three simulated pods', () => {
    const text = readFileSync(join(__dirname, '../../../deploy/examples/hello.yaml'), 'utf8');
    const m = parseSandboxManifest(text, ['node-1', 'node-2']);
    expect(m.namespaces).toEqual(['hello']);
    expect(m.objects.map((o) => `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`)).toEqual([
      'Service/hello/hello',
    ]);
    expect(m.pods.map((p) => [p.name, p.node, p.serve])).toEqual([
      ['hello-0', 'node-1', ['http:8080', 'udp:5353']],
      ['hello-1', 'node-2', ['http:8080', 'udp:5353']],
      ['hello-2', 'node-1', ['http:8080', 'udp:5353']],
    ]);
    expect(m.pods.every((p) => p.namespace === 'hello' && p.labels?.app === 'hello')).toBe(true);
  });

  it('rejects unknown sandbox kinds and bad replica counts, naming the document', () => {
    const doc = (kind: string, spec: string) =>
      `apiVersion: sandbox.ycloud.io/v1alpha1\nkind: ${kind}\nmetadata: {name: x}\nspec: ${spec}\n`;
    expect(() => parseSandboxManifest(doc('SimulatedJob', '{}'), ['n'])).toThrow(/document 1 .*unknown kind/);
    expect(() => parseSandboxManifest(doc('SimulatedDeployment', '{replicas: -1}'), ['n'])).toThrow(/replicas/);
  });
});

describe('parseServe', () => {
  it('accepts tcp/http/udp with a port and rejects anything else', () => {
    expect(parseServe('udp:5353')).toEqual({ proto: 'udp', port: 5353 });
    for (const bad of ['sctp:1', 'http:0', 'http:70000', 'http', 'http:8080x']) expect(() => parseServe(bad)).toThrow();
  });
});
