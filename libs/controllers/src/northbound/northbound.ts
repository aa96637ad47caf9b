import {
  enabledFeatures,
  IndexedRowView,
  NB_FEATURES,
  NorthboundApplier,
  NorthboundFeature,
  northboundFeatures,
  NorthboundFeatures,
  RawSchema,
  SchemaInfo,
} from '@ycloud/ovn';
import { OvsdbClient, OvsdbClientOptions } from '@ycloud/ovsdb';
import { Gauge, Registry } from 'prom-client';
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
  'Logical_Router_Policy',
  'NAT',
  'Gateway_Chassis',
  'HA_Chassis_Group',
  'HA_Chassis',
  'Chassis_Template_Var',
  'ACL',
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
    /** Optional features the server's NB schema has (OVN 23.03 lacks some that 25.03 has). */
    readonly features: NorthboundFeatures,
    /** NB_Global nb_cfg -> hv_cfg: when every node's ovn-controller has installed what ycloud committed. */
    readonly nbCfg: NbCfgBarrier,
    /** Each transaction bumps nb_cfg (`trackNodeInstall`), so `nbCfg.whenInstalled()` means ycloud's changes. */
    readonly tracksNodeInstall: boolean,
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
    const tracks = options.trackNodeInstall !== false;
    const source = tracks ? nbCfg.source(client as never) : client;
    const applier = new NorthboundApplier(source as never, view, schema);
    return new Northbound(client, view, applier, schema, northboundFeatures(schema.raw), nbCfg, tracks);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/**
 * `ycloud_ovn_nb_feature{feature}` (1 on, 0 off) and `ycloud_ovn_nb_schema_info{version}` for the connected NB
 * server, so a fleet's dashboards show which OVN capabilities each controller found. Returns the log fields.
 */
export function recordNorthboundFeatures(
  registry: Registry,
  f: NorthboundFeatures,
): { schemaVersion: string; enabled: string; disabled: string } {
  const feature =
    (registry.getSingleMetric('ycloud_ovn_nb_feature') as Gauge<'feature'> | undefined) ??
    new Gauge({
      name: 'ycloud_ovn_nb_feature',
      help: 'Optional OVN Northbound features found in the server schema (1 on, 0 off).',
      labelNames: ['feature'],
      registers: [registry],
    });
  const info =
    (registry.getSingleMetric('ycloud_ovn_nb_schema_info') as Gauge<'version'> | undefined) ??
    new Gauge({
      name: 'ycloud_ovn_nb_schema_info',
      help: 'The OVN Northbound schema version of the connected server (value 1).',
      labelNames: ['version'],
      registers: [registry],
    });
  for (const name of Object.keys(NB_FEATURES) as NorthboundFeature[])
    feature.set({ feature: name }, f.features[name] ? 1 : 0);
  info.reset();
  info.set({ version: f.schemaVersion }, 1);
  const on = enabledFeatures(f);
  const off = (Object.keys(NB_FEATURES) as NorthboundFeature[]).filter((n) => !f.features[n]);
  return { schemaVersion: f.schemaVersion, enabled: on.join(',') || '-', disabled: off.join(',') || '-' };
}
