import { KubeClient, type KubeObject, type ResourceType } from '@ycloud/k8s';
import {
  IndexedRowView,
  NorthboundApplier,
  SchemaInfo,
  type ApplyRecord,
  type DesiredState,
  type RawSchema,
  type TransactionSource,
} from '@ycloud/ovn';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventSink, ObjectCache, ObjectReference } from './ports';

/**
 * In-memory stand-ins for unit specs of the controllers. Each satisfies the real type (a subclass or an
 * implementation of the interface), so a spec needs no casts and breaks when the real interface changes.
 */

/** The OVN NB schema the planner specs use. */
export function nbSchema(): SchemaInfo {
  const file = join(__dirname, '../../../ovn/test-fixtures/ovn-nb.ovsschema');
  return new SchemaInfo(JSON.parse(readFileSync(file, 'utf8')) as RawSchema);
}

const noDatabase: TransactionSource = {
  transaction: () => {
    throw new Error('RecordingApplier writes nothing');
  },
};

/** A NorthboundApplier that records each desired state and reason it is given, and writes nothing. */
export class RecordingApplier extends NorthboundApplier {
  readonly applied: Array<{ state: DesiredState; reason: string }> = [];

  constructor(schema = nbSchema()) {
    super(noDatabase, new IndexedRowView(schema), schema);
  }

  override apply(state: DesiredState, reason: string): Promise<ApplyRecord> {
    this.applied.push({ state, reason });
    return Promise.resolve({
      ...{ owner: state.owner, reason, written: false, operations: 0 },
      ...{ touched: [], latencyMs: 0, at: new Date() },
    });
  }

  /** The last state applied for an owner name. */
  lastFor(ownerName: string): DesiredState | undefined {
    return this.applied.filter((a) => a.state.owner.name === ownerName).at(-1)?.state;
  }
}

/** A KubeClient that records merge patches (and answers them with the patch) instead of calling an apiserver. */
export class RecordingKube extends KubeClient {
  readonly patches: Array<{
    resource: string;
    namespace?: string;
    name: string;
    patch: unknown;
    subresource?: string;
  }> = [];

  constructor() {
    super({ server: 'http://127.0.0.1:9' });
  }

  override mergePatch<T extends KubeObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ): Promise<T> {
    this.patches.push({ resource: rt.plural, namespace, name, patch, subresource });
    return Promise.resolve(patch as T);
  }

  override request<T>(method: string, path: string): Promise<T> {
    return Promise.reject(new Error(`RecordingKube: unexpected ${method} ${path}`));
  }
}

/** An informer cache stand-in keyed like the real one (`namespace/name` or `name`). */
export class MapCache<T extends KubeObject> implements ObjectCache<T> {
  private readonly objects = new Map<string, T>();

  constructor(objects: T[] = []) {
    for (const o of objects) this.put(o);
  }

  put(obj: T): this {
    const ns = obj.metadata?.namespace;
    this.objects.set(ns ? `${ns}/${obj.metadata!.name}` : obj.metadata!.name!, obj);
    return this;
  }

  remove(key: string): void {
    this.objects.delete(key);
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }
}

/** Events kept in order, as `Warning <Reason> <kind>/<name>: <message>`. */
export class RecordingEvents implements EventSink {
  readonly events: string[] = [];
  warning(object: ObjectReference, reason: string, message: string): void {
    this.events.push(`Warning ${reason} ${object.kind}/${object.name}: ${message}`);
  }
  normal(object: ObjectReference, reason: string, message: string): void {
    this.events.push(`Normal ${reason} ${object.kind}/${object.name}: ${message}`);
  }
}
