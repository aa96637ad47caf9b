import type { RawSchema } from './schema-info';
import { compareVersions, enabledFeatures, northboundFeatures } from './nb-features';

/** The parts of the OVN 23.03 (7.0.0) and 25.03 (7.11.0) NB schemas the features are detected from. */
function nbSchema(version: string, newer: boolean): RawSchema {
  const fields = ['eth_src', 'eth_dst', 'ip_src', 'ip_dst', ...(newer ? ['ipv6_src', 'ipv6_dst'] : []), 'tp_src'];
  return {
    name: 'OVN_Northbound',
    version,
    tables: {
      Load_Balancer: {
        columns: {
          name: { type: 'string' },
          selection_fields: {
            type: { key: { type: 'string', enum: ['set', fields] } as never, min: 0, max: 'unlimited' },
          },
        },
      },
      Load_Balancer_Group: { columns: { name: { type: 'string' } } },
      Load_Balancer_Health_Check: { columns: { vip: { type: 'string' } } },
      Chassis_Template_Var: { columns: { chassis: { type: 'string' } } },
      NAT: { columns: { type: { type: 'string' }, ...(newer ? { match: { type: 'string' } } : {}) } },
    },
  };
}

describe('northboundFeatures', () => {
  it('on OVN 23.03 (NB 7.0.0) reports the 23.03 features on and the newer ones off', () => {
    const f = northboundFeatures(nbSchema('7.0.0', false));
    expect(f.schemaVersion).toBe('7.0.0');
    expect(f.features).toEqual({
      lb_health_check: true,
      lb_group: true,
      lb_template: true,
      lb_ct_flush: true,
      lb_selection_fields_ipv6: false,
      lb_incremental_processing: false,
      use_stateless_nat: false,
      nat_match: false,
    });
  });

  it('on OVN 25.03 (NB 7.11.0) reports every feature on', () => {
    const f = northboundFeatures(nbSchema('7.11.0', true));
    expect(enabledFeatures(f)).toEqual([
      'lb_health_check',
      'lb_group',
      'lb_template',
      'lb_ct_flush',
      'lb_selection_fields_ipv6',
      'lb_incremental_processing',
      'use_stateless_nat',
      'nat_match',
    ]);
  });

  it('reads enums both as RFC 7047 JSON and as the parsed schema of @ycloud/ovsdb (a plain list)', () => {
    const schema = nbSchema('7.11.0', true);
    const column = schema.tables.Load_Balancer.columns.selection_fields;
    column.type = { key: { type: 'string', enum: ['ip_src', 'ipv6_src'] } as never, min: 0, max: 'unlimited' };
    expect(northboundFeatures(schema).features.lb_selection_fields_ipv6).toBe(true);
  });

  it('reports a table the server lacks as off', () => {
    const schema = nbSchema('7.0.0', false);
    delete schema.tables.Load_Balancer_Health_Check;
    expect(northboundFeatures(schema).features.lb_health_check).toBe(false);
  });

  it('compares versions numerically, not as strings', () => {
    expect(compareVersions('7.11.0', '7.3.0')).toBeGreaterThan(0);
    expect(compareVersions('7.0.0', '7.0.0')).toBe(0);
    expect(compareVersions('6.3', '7.0.0')).toBeLessThan(0);
  });
});
