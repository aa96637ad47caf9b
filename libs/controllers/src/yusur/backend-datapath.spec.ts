import type { V1Node } from '@kubernetes/client-node';
import type { ResolvedBackend } from './backends';
import { backendDatapathVerdict } from './backend-datapath';

const backend = (name: string): ResolvedBackend =>
  ({ ref: { kind: 'Pod', name, namespace: 'hello' }, target: `Pod/hello/${name}` }) as ResolvedBackend;
const node = (name: string, status?: string, reason?: string): V1Node => ({
  metadata: { name },
  status: status ? { conditions: [{ type: 'YcloudDatapathReady', status, reason }] } : {},
});
const cache = (...nodes: V1Node[]) => ({
  get: (k: string) => nodes.find((n) => n.metadata?.name === k),
  list: () => nodes,
});
const placement: Record<string, string> = { a: 'node-1', b: 'node-2', c: 'node-3' };
const nodeOf = (b: ResolvedBackend) => placement[b.ref.name];

describe('backendDatapathVerdict', () => {
  it('is True when every node reports its datapath ready or says nothing', () => {
    const v = backendDatapathVerdict(
      [backend('a'), backend('b')],
      nodeOf,
      cache(node('node-1', 'True'), node('node-2')),
    );
    expect(v).toMatchObject({ status: 'True', reason: 'DatapathReady', allDown: false });
  });

  it('names the backends on nodes whose datapath is down, with the agent`s reason', () => {
    const v = backendDatapathVerdict(
      [backend('a'), backend('b'), backend('c')],
      nodeOf,
      cache(node('node-1', 'False', 'OvsVswitchdDown'), node('node-2', 'True'), node('node-3', 'True')),
    );
    expect(v).toEqual({
      status: 'False',
      reason: 'BackendDatapathDown',
      message: '1 of 3 backend(s) on a node whose datapath is down: Pod/hello/a on node-1 (OvsVswitchdDown)',
      allDown: false,
    });
  });

  it('says allDown only when every backend is on such a node', () => {
    const v = backendDatapathVerdict(
      [backend('a'), backend('b')],
      nodeOf,
      cache(node('node-1', 'False', 'OvsVswitchdDown'), node('node-2', 'False', 'OvnControllerDown')),
    );
    expect(v.allDown).toBe(true);
  });
});
