import { OvnCentral, runText } from '@ycloud/testbed';

describe('OvnCentral', () => {
  it('runs NB, SB and northd: a logical switch in NB appears as a datapath in SB', async () => {
    const central = await OvnCentral.start();
    try {
      await central.nbctl('ls-add', 'sw0');
      await central.syncSb();
      const dps = await runText('ovn-sbctl', ['--db', central.sbTcpRemote, '--bare', '--columns=external_ids', 'list', 'Datapath_Binding']);
      expect(dps).toContain('name=sw0');
      expect(await central.nbctl('get', 'NB_Global', '.', 'options:svc_monitor_mac')).toContain('0a:58');
    } finally {
      await central.stop();
    }
  });
});
