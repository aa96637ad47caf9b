import type { DesiredState } from '@ycloud/ovn';
import { translatePodPort, type PortAllocation } from './pod-port.translator';

/** The kinds of object that get a network attachment (a Logical_Switch_Port outside any pod). */
export type AttachmentKind = 'BareMetalServer' | 'VNic';

/** A BareMetalServer or VNic that needs a port on its subnet's switch. */
export interface AttachmentRef {
  kind: AttachmentKind;
  /** VNic only: its namespace. */
  namespace?: string;
  name: string;
  /** Node (OVN chassis) that carries the port: `options:requested-chassis`. Unset: bound wherever it appears. */
  nodeName?: string;
}

/**
 * OVN name (and OVS `external_ids:iface-id`) of an attachment's port: `bms.<name>` / `vnic.<namespace>.<name>`.
 * Namespaces have no dots, so a VNic name is unambiguous; the prefixes keep them apart from pod ports.
 */
export function attachmentPortName(ref: Pick<AttachmentRef, 'kind' | 'namespace' | 'name'>): string {
  return ref.kind === 'BareMetalServer' ? `bms.${ref.name}` : `vnic.${ref.namespace ?? 'default'}.${ref.name}`;
}

/** Row key (external_ids `ycloud.io/key`) of an attachment's port. */
export function attachmentPortKey(ref: Pick<AttachmentRef, 'kind' | 'namespace' | 'name'>): string {
  return ref.kind === 'BareMetalServer' ? `bms/${ref.name}` : `vnic/${ref.namespace ?? 'default'}/${ref.name}`;
}

/** The NB owner of an attachment's rows: kind + "name" (BareMetalServer) or "namespace/name" (VNic). */
export function attachmentOwner(ref: Pick<AttachmentRef, 'kind' | 'namespace' | 'name'>): {
  kind: AttachmentKind;
  name: string;
} {
  return {
    kind: ref.kind,
    name: ref.kind === 'BareMetalServer' ? ref.name : `${ref.namespace ?? 'default'}/${ref.name}`,
  };
}

/**
 * The Logical_Switch_Port of a BareMetalServer or VNic: exactly a pod's port (addresses and port_security
 * "MAC IP", requested-chassis when the node is known) under its own name, key and owner.
 */
export function translateAttachmentPort(ref: AttachmentRef, allocation: PortAllocation): DesiredState {
  const { state } = translatePodPort(
    { namespace: ref.namespace ?? 'default', name: ref.name, nodeName: ref.nodeName },
    allocation,
  );
  const owner = attachmentOwner(ref);
  return {
    ...state,
    owner,
    rows: state.rows.map((row) => ({
      ...row,
      owner,
      key: attachmentPortKey(ref),
      columns: { ...row.columns, name: attachmentPortName(ref) },
    })),
  };
}
