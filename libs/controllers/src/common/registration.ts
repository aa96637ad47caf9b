import type { ControllerConfig, Subnet } from '@ycloud/api';
import type {
  EventHandler,
  KeyMapper,
  KubeClient,
  KubeObject,
  Logger,
  ReconcileContext,
  ResourceType,
  SharedInformers,
  SyncSource,
} from '@ycloud/k8s';
import type { Owner } from '@ycloud/ovn';
import type { EipAddressBook } from '../eip/eip-addresses';
import type { ServiceGatewayEips } from '../eip/service-gateway-eips';
import type { SubnetIpam } from '../ipam/subnet-ipam';
import type { Northbound } from '../northbound/northbound';
import type { ProbeRuntimeOptions } from '../probe/network-probe.registration';
import type { EventSink } from './ports';
import type { CoreCaches } from './controller-env';

/** Turns one key into the state it names; throwing retries with backoff (TerminalError: no retry). */
export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<unknown>;

/** The NB owner whose rows a controller writes → the key that reconciles them; undefined: not this controller's. */
export type OwnerKey = (owner: Owner, config: ControllerConfig) => string | undefined;

/**
 * What every controller may use, built once by the manager: the shared caches, the Northbound link, and the
 * pieces several controllers share (pod IPAM, the namespace → VPC map, the service-gateway EIPs).
 */
export interface ControllerEnv {
  config: ControllerConfig;
  kube: KubeClient;
  log: Logger;
  events: EventSink;
  northbound: Northbound;
  /** Services, EndpointSlices (indexed by Service), Nodes, Pods: started and synced before any setup. */
  caches: CoreCaches;
  /** One started informer per resource type, shared by every controller that asks. */
  informers: SharedInformers;
  /** The VPC serving a namespace: the Vpc resource that claims it, else the default VPC. */
  vpcForNamespace(namespace: string): string;
  /** The pod IPAM (pods, nodes, probe ports and attachments allocate from it). */
  ipam: SubnetIpam;
  /** The subnets the controller config defines (default, join). */
  builtinSubnets: Subnet[];
  /** Subnets pods may use: the built-in ones and the Subnet resources whose topology is Ready. */
  subnets(): Subnet[];
  /** EIPs served by YusurService service-gateways (written by the YusurService controller, read by topology). */
  serviceGatewayEips: ServiceGatewayEips;
  /** EIP and transit addresses allocated (the topology controller allocates, the Service-EIP controller reads). */
  eipAddresses: EipAddressBook;
  /** Where NetworkProbes run (this process, on a node with OVS); undefined: not here. */
  probe?: ProbeRuntimeOptions;
  /** How often to look for KubeVirt's VMI API while it is not served (default 30 s). */
  vmDiscoveryIntervalMs?: number;
}

/** A cache whose changes can queue keys (an Informer). */
export type Watchable<T extends KubeObject> = SyncSource & { addHandler(h: EventHandler<T>): () => void };

/** A running controller as its registration sees it. */
export interface ControllerHandle {
  readonly name: string;
  /** Queues a key with the reason the change journal records for the write it leads to. */
  enqueue(key: string, reason: string): void;
  /** Queues the keys `map` gives (default: the object's own key) on every change of `source`, noting `reason`. */
  watch<T extends KubeObject>(source: Watchable<T>, reason: string, map?: KeyMapper<T>): this;
  /** Keys the periodic full reconcile queues, beside the keys of the NB owners this controller covers. */
  resyncKeys(keys: () => string[]): this;
}

/** What a registration's setup() gets: the environment, its controller, and hooks for more. */
export interface ControllerBuilder extends ControllerHandle {
  readonly env: ControllerEnv;
  /** A helper controller run beside this one (the probe-port controller beside the NetworkProbe controller). */
  controller(name: string, reconcile: Reconciler, options?: { ownerKey?: OwnerKey }): ControllerHandle;
  /** Caches the workers wait for without watching them. */
  waitFor(...sources: SyncSource[]): this;
  /** Run at manager stop, after the workers drained (timers, probes, extra informers). */
  onStop(stop: () => Promise<void> | void): this;
}

/**
 * One controller, as its folder declares it (in the spirit of controller-runtime's builder): whether it runs
 * (the CRDs it needs), which NB owners it repairs, and a setup that declares what it watches and returns its
 * reconciler. The manager runs every registration in the list in `controllers.ts` and knows none by name.
 */
export interface ControllerRegistration {
  /** The controller's name (metrics, logs, the journal). */
  name: string;
  /** Resources that must be served (CRDs installed); when one is not, the controller does not run. */
  requires?: readonly ResourceType[];
  /** Further conditions to run (e.g. a probe runtime configured). */
  enabled?(env: ControllerEnv): boolean;
  /**
   * The key that reconciles an NB owner's rows, for the owners this controller writes: start-up repair, drift
   * repair and the periodic full reconcile queue it, so rows of objects deleted meanwhile are removed.
   */
  ownerKey?: OwnerKey;
  /**
   * Builds the reconciler. Setups run in list order before any controller starts, with the core caches synced:
   * work that must precede every reconcile (IPAM restores, the default topology) goes here.
   */
  setup(b: ControllerBuilder): Promise<Reconciler> | Reconciler;
  /** Run instead of setup when the controller does not run: remove what only it could keep right. */
  notRun?(env: ControllerEnv): Promise<void>;
}
