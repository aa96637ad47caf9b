// The typed models: checked by the compiler (`npx tsc --noEmit` fails on a wrong type below), and the
// runtime handles carry the table names.
import { NB, type NBTables } from '../generated/ovn-nb';
import type { OvsdbClient } from './client';

/** Never called: its body is what the type checker verifies. */
export function typedUsage(nb: OvsdbClient<NBTables>): void {
  const tx = nb.transaction();
  tx.insert('Load_Balancer', { name: 'x', vips: { '10.96.0.1:80': '10.0.0.1:8080' } });
  tx.insert(NB.Load_Balancer, { name: 'x', protocol: ['tcp'] });
  // @ts-expect-error unknown column
  tx.insert('Load_Balancer', { nam: 'x' });
  // @ts-expect-error not one of the enum values
  tx.insert(NB.Load_Balancer, { protocol: ['icmp'] });
  // @ts-expect-error a string column
  tx.update('Logical_Switch', [], { name: 3 });
  const name: string | undefined = nb.table(NB.Load_Balancer).get('u')?.name;
  const proto: Array<'tcp' | 'udp' | 'sctp'> | undefined = nb.table('Load_Balancer').get('u')?.protocol;
  void name;
  void proto;
}

test('typed table handles name their tables', () => {
  expect(NB.Load_Balancer.name).toBe('Load_Balancer');
  expect(NB.Logical_Switch_Port.name).toBe('Logical_Switch_Port');
  expect(typeof typedUsage).toBe('function');
});
