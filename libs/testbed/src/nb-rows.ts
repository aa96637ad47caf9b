import { OWNERSHIP } from '@ycloud/ovn';
import { runText } from './process';

/** `ovn-nbctl` against the NB database at `nbRemote` (a sandbox's `state.testbed.nbRemote`), returning stdout. */
export function nbctlAt(nbRemote: string, ...args: string[]): Promise<string> {
  return runText('ovn-nbctl', [`--db=${nbRemote}`, '--timeout=20', ...args]);
}

/**
 * The `columns` of the rows of NB `table` whose owner kind is `ownerKind` (`ovn-nbctl --bare find`, one value per
 * line; `where` adds conditions such as `action=drop`), trimmed: '' when there are none.
 */
export async function ownedNbRows(
  nbRemote: string,
  ownerKind: string,
  table: string,
  columns: string,
  ...where: string[]
): Promise<string> {
  const condition = `external_ids:"${OWNERSHIP.ownerKind}"=${ownerKind}`;
  return (await nbctlAt(nbRemote, '--bare', `--columns=${columns}`, 'find', table, condition, ...where)).trim();
}
