import { IndexedRowView, NorthboundApplier, RawSchema, SchemaInfo } from '@ycloud/ovn';
import { OvsdbClient, OvsdbClientOptions } from '@ycloud/ovsdb';
import { NbCfgBarrier } from './nb-cfg-barrier';

/** The Northbound tables ycloud writes or references; only these are replicated into the controller. */
export const NORTHBOUND_TABLES = [
  'NB_Global',
  'Load_Balancer',
  'Load_Balancer_Group',
  'Load_Balancer_Health_Check',
  'Logical_Switch',
  'Logical_Switch_Port',
  'Logical_Router',
  'Logical_Router_Port',
  'Logical_Router_Static_Route',
  'NAT',
  'Gateway_Chassis',
  'HA_Chassis_Group',
  'HA_Chassis',
  'Chassis_Template_Var',
] as const;

export interface NorthboundOptions {
  remotes: string;
  tls?: OvsdbClientOptions['tls'];
  inactivityProbeMs?: number;
  /**
   * Increment NB_Global nb_cfg in each transaction ycloud commits, so `nbCfg.whenInstalled()` can tell when the
   * nodes' ovn-controllers have installed it (default true; one extra operation per transaction).
   */
  trackNodeInstall?: boolean;
}

/**
 * The controller's link to OVN Northbound: one OVSDB client replicating the tables ycloud uses, the row view
 * indexed by ycloud key / owner / reference, and the applier that writes desired states as transactions.
 */
export class Northbound {
  private constructor(
    readonly client: OvsdbClient,
    readonly view: IndexedRowView,
    readonly applier: NorthboundApplier,
    readonly schema: SchemaInfo,
    /** NB_Global nb_cfg -> hv_cfg: when every node's ovn-controller has installed what ycloud committed. */
    readonly nbCfg: NbCfgBarrier,
  ) {}

  static async connect(options: NorthboundOptions): Promise<Northbound> {
    const monitor = Object.fromEntries(NORTHBOUND_TABLES.map((t) => [t, {}]));
    const client = await OvsdbClient.connect({
      remotes: options.remotes,
      database: 'OVN_Northbound',
      leaderOnly: true,
      tls: options.tls,
      inactivityProbeMs: options.inactivityProbeMs,
      monitor,
    });
    const schema = new SchemaInfo(client.schema() as unknown as RawSchema);
    const tables = NORTHBOUND_TABLES.filter((t) => schema.hasTable(t));
    const view = new IndexedRowView(schema).follow(client as never, tables);
    const nbCfg = new NbCfgBarrier(client as never);
    const source = options.trackNodeInstall === false ? client : nbCfg.source(client as never);
    const applier = new NorthboundApplier(source as never, view, schema);
    return new Northbound(client, view, applier, schema, nbCfg);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
