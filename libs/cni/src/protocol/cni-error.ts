/** Error codes of the CNI specification (1.0.0 / 1.1.0), plus ycloud's own (100+). */
export enum CniErrorCode {
  IncompatibleVersion = 1,
  UnsupportedField = 2,
  UnknownContainer = 3,
  InvalidEnvironment = 4,
  IoFailure = 5,
  DecodeFailure = 6,
  InvalidNetworkConfig = 7,
  TryAgainLater = 11,
  NotAvailable = 50,
  /** The agent on this node cannot be reached (the shim reports this one). */
  AgentUnreachable = 100,
  /** ovn-controller did not mark the interface ovn-installed in time. */
  OvnInstallTimeout = 102,
  /** Plumbing the interface failed (ip / ovs-vsctl). */
  PlumbingFailed = 103,
  /** The DPU side did not answer, reported an error, or its health lease expired. */
  DpuUnavailable = 104,
  /** No free VF on this node. */
  NoFreeVf = 105,
  /** Anything unexpected inside the agent. */
  Internal = 199,
}

/** A failure that becomes the spec's error JSON on stdout and a non-zero exit code. */
export class CniError extends Error {
  constructor(
    readonly code: CniErrorCode,
    message: string,
    readonly details = '',
  ) {
    super(message);
    this.name = 'CniError';
  }

  /** The error object the spec asks for: `{cniVersion, code, msg, details}`. */
  toResult(cniVersion: string): CniErrorResult {
    const r: CniErrorResult = { cniVersion, code: this.code, msg: this.message };
    if (this.details) r.details = this.details;
    return r;
  }

  /** Wraps anything thrown into a CniError (unknown errors become `Internal`). */
  static from(err: unknown, fallback = CniErrorCode.Internal): CniError {
    if (err instanceof CniError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new CniError(fallback, message);
  }
}

export interface CniErrorResult {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}
