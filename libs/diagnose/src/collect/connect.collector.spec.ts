import { collectConnect, podNetns } from './connect.collector';

/** Real `ovs-vsctl --format=json --columns=external_ids find Interface external_ids:iface-id=...` output (OVS 3.1). */
const FOUND =
  '{"data":[[["map",[["iface-id","pod.diag.client"],["ycloud-netns","/var/run/netns/ycn-XhWpkM-diag-client"],["ycloud-pod","diag/client"],["ycloud-sandbox","abc123"]]]]],"headings":["external_ids"]}\n';
const NONE = '{"data":[],"headings":["external_ids"]}\n';

function runner(answers: Record<string, { code?: number; stdout?: string; stderr?: string }>) {
  const calls: string[] = [];
  return {
    calls,
    run(cmd: string, args: string[]) {
      calls.push([cmd, ...args].join(' '));
      const a = answers[cmd] ?? {};
      return Promise.resolve({ code: a.code ?? 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '' });
    },
  };
}

describe('connect collector', () => {
  it("finds a pod's network namespace through its OVS interface, and says why when it cannot", async () => {
    const r = runner({ 'ovs-vsctl': { stdout: FOUND } });
    await expect(podNetns(r, 'unix:/db.sock', 'pod.diag.client')).resolves.toBe(
      '/var/run/netns/ycn-XhWpkM-diag-client',
    );
    expect(r.calls).toEqual([
      'ovs-vsctl --db=unix:/db.sock --timeout=5 --format=json --columns=external_ids find Interface external_ids:iface-id=pod.diag.client',
    ]);
    await expect(podNetns(runner({ 'ovs-vsctl': { stdout: NONE } }), '', 'pod.diag.x')).rejects.toThrow(
      'no OVS interface of pod.diag.x on this node',
    );
    await expect(podNetns(r, '', 'x" -- destroy')).rejects.toThrow(/bad logical port/);
  });

  it('connects from inside the pod with nsenter, from the node without; refused is not connected', async () => {
    const ok = runner({});
    expect(await collectConnect(ok, '10.96.0.10', 80, 3, '/var/run/netns/ycn-a-client')).toMatchObject({
      connected: true,
      detail: 'connected',
    });
    expect(ok.calls).toEqual(['nsenter --net=/var/run/netns/ycn-a-client nc -z -w 3 10.96.0.10 80']);
    const refused = runner({
      nc: { code: 1, stderr: 'nc: connect to 10.96.0.10 port 80 (tcp) failed: Connection refused\n' },
    });
    expect(await collectConnect(refused, '10.96.0.10', 80)).toMatchObject({
      connected: false,
      detail: 'nc: connect to 10.96.0.10 port 80 (tcp) failed: Connection refused',
    });
    expect(refused.calls).toEqual(['nc -z -w 3 10.96.0.10 80']);
    await expect(collectConnect(ok, '10.96.0.10', 80, 3, 'rel/path')).rejects.toThrow(/bad network namespace/);
  });
});
