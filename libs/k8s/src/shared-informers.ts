import { Informer, type InformerOptions } from './informer';
import { isNotFound, type KubeClient } from './kube-client';
import { Logger } from './logger';
import type { KubeObject, ResourceType } from './resource';

const typeId = (rt: ResourceType): string => `${rt.group}/${rt.version}/${rt.plural}`;

/**
 * One informer per resource type for a whole process (client-go's shared informer factory): controllers that
 * watch the same resource share its list, watch and cache. `start()` starts every informer asked for so far, and
 * after it an informer starts when first asked for; `stop()` stops them all. Also answers whether a resource is
 * served (a CRD installed).
 */
export class SharedInformers {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly servedTypes = new Map<string, Promise<boolean>>();
  private readonly log: Logger;
  private started = false;

  constructor(
    private readonly kube: KubeClient,
    logger?: Logger,
  ) {
    this.log = logger ?? new Logger();
  }

  /**
   * The shared informer of `type` (started if start() was called). `indexers` apply only when this call creates it (the first asker
   * decides; callers that need an index ask first, as the manager does for its core caches).
   */
  get<T extends KubeObject>(type: ResourceType, options: Pick<InformerOptions<T>, 'indexers'> = {}): Informer<T> {
    const id = typeId(type);
    let inf = this.informers.get(id) as Informer<T> | undefined;
    if (!inf) {
      inf = new Informer<T>(this.kube, type, { logger: this.log, indexers: options.indexers });
      this.informers.set(id, inf as unknown as Informer<KubeObject>);
      if (this.started) inf.start();
    }
    return inf;
  }

  /** Starts every informer asked for so far, and from now on each one when it is asked for. */
  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Whether the apiserver serves every one of `types` (listing one answers 404 when a CRD is not installed). */
  async served(...types: ResourceType[]): Promise<boolean> {
    const answers = types.map((rt) => {
      const id = typeId(rt);
      let p = this.servedTypes.get(id);
      if (!p) {
        p = this.kube.list(rt, undefined, { limit: 1 }).then(
          () => true,
          (err: unknown) => {
            this.servedTypes.delete(id); // not cached: a later call asks again
            if (isNotFound(err)) return false;
            throw err;
          },
        );
        this.servedTypes.set(id, p);
      }
      return p;
    });
    return (await Promise.all(answers)).every(Boolean);
  }

  /** Every informer created so far. */
  all(): Array<Informer<KubeObject>> {
    return [...this.informers.values()];
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.all().map((i) => i.waitForSync(signal)));
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all(this.all().map((i) => i.stop()));
  }
}
