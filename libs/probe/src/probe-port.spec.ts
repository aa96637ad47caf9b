import { RecordedCommandRunner } from '@ycloud/cni';
import { listProbePorts, probeIfName, probeNetnsName, unplugProbePort, type ProbePortHost } from './probe-port';

describe('probe port names and clean-up', () => {
  it('names namespaces <prefix><vpc> and gives each prefix its own short OVS port name', () => {
    expect(probeNetnsName('blue')).toBe('ycloud-probe-blue');
    expect(probeNetnsName('blue', 'ycp1x-')).toBe('ycp1x-blue');
    const names = [probeIfName('blue'), probeIfName('blue', 'ycp1x-'), probeIfName('blue', 'ycp2x-')];
    expect(new Set(names).size).toBe(3);
    for (const n of names) expect(n).toMatch(/^ycpr[0-9a-f]{8}$/);
  });

  it("lists this prefix's namespaces and marked OVS ports, and unplugs both", async () => {
    const runner = new RecordedCommandRunner().on(/^ip netns list$/, {
      stdout: 'ycp1x-blue (id: 3)\nycloud-probe-red\nycp1x-green\n',
    });
    const vsctl: string[][] = [];
    const host: ProbePortHost = {
      runner,
      vsctl: (args) => {
        vsctl.push(args);
        if (args.includes('find')) return Promise.resolve('0b7c5e0e-1\n\n4f2a-2\n');
        if (args.includes('0b7c5e0e-1')) return Promise.resolve('"blue"\n');
        return Promise.resolve('orange\n');
      },
    };
    expect(await listProbePorts(host, 'ycp1x-')).toEqual(['blue', 'green', 'orange']);
    expect(vsctl[0]).toContain('external_ids:ycloud-probe-prefix="ycp1x-"');
    await unplugProbePort(host, 'blue', 'ycp1x-');
    expect(vsctl.at(-1)).toEqual(['--if-exists', 'del-port', probeIfName('blue', 'ycp1x-')]);
    expect(runner.lines().at(-1)).toBe('ip netns del ycp1x-blue');
  });
});
