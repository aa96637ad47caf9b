import type { DesiredState } from '@ycloud/ovn';

/**
 * A problem a translator found in its input: every translator reports with this one type. As an error it stops
 * the translation of its object (the controller sets a False condition); as a warning the named part was skipped
 * or replaced and the rest applied (the controller sends an Event or a condition).
 */
export interface TranslationIssue {
  /** CamelCase reason, e.g. `VpcNotFound`, `InvalidServiceSpec`: a condition or Event reason. */
  reason: string;
  message: string;
  /** Field path at fault within `object`, e.g. `spec.ports[1].protocol`. */
  field?: string;
  /** `Kind namespace/name` of the object at fault when it is not the one translated (an EndpointSlice, say). */
  object?: string;
}

/** Either a complete desired state (perhaps with warnings), or errors and nothing at all (never half a state). */
export type TranslateResult =
  { ok: true; state: DesiredState; warnings: TranslationIssue[] } | { ok: false; errors: TranslationIssue[] };

export function failed(errors: TranslationIssue[]): TranslateResult {
  return { ok: false, errors };
}
