import { OvnCentral, runText } from '@ycloud/testbed';

describe('OvnCentral', () => {
  it('runs NB, SB and northd: a logical switch in NB appears as a datapath in SB', async () => {
    const central = await OvnCentral.start();
    try {
      await central.nbctl('ls-add', 'sw0');
      await central.syncSb();
      const dps = await runText('ovn-sbctl', [
        '--db',
        central.sbTcpRemote,
        '--bare',
        '--columns=external_ids',
        'list',
        'Datapath_Binding',
      ]);
      expect(dps).toContain('name=sw0');
      expect(await central.nbctl('get', 'NB_Global', '.', 'options:svc_monitor_mac')).toContain('0a:58');
    } finally {
      await central.stop();
    }
  });

  it('runs clustered NB and SB (3 members each) and keeps translating after the NB leader is killed', async () => {
    const central = await OvnCentral.start({ clustered: true });
    try {
      const nb = central.nbCluster;
      expect(nb?.members).toHaveLength(3);
      const leader = await nb!.leaderIndex();
      await nb!.members[leader].kill();
      await central.nbctl('ls-add', 'after-failover');
      await central.syncSb();
      expect(await central.sbctl('--bare', '--columns=external_ids', 'list', 'Datapath_Binding')).toContain(
        'name=after-failover',
      );
    } finally {
      await central.stop();
    }
  }, 120_000);
});
