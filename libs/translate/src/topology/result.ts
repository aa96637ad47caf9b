import type { DesiredState } from '@ycloud/ovn';

/** A problem that stops translation; the controller turns it into a status condition (reason + message). */
export interface TranslateError {
  /** CamelCase condition reason, e.g. `VpcNotFound`, `CidrOverlap`. */
  reason: string;
  message: string;
  /** Spec field at fault, e.g. `spec.cidrBlocks[1]`. */
  field?: string;
}

/** Either a complete desired state, or errors and nothing at all (never half a topology). */
export type TranslateResult =
  { ok: true; state: DesiredState; warnings: TranslateError[] } | { ok: false; errors: TranslateError[] };

/**
 * Warnings: the state is complete and applied, but part of what the spec asks for waits on something else
 * (e.g. the VPC's EipPool does not exist yet); the controller reports them as a False condition.
 */

export function failed(errors: TranslateError[]): TranslateResult {
  return { ok: false, errors };
}
