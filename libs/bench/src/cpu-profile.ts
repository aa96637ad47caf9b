import { readFileSync } from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  /** `file:function:line` with the file relative to the repository (or node_modules/<pkg>/...). */
  where: string;
  selfMs: number;
  share: number;
}

/** Self time per function of a V8 `.cpuprofile` (from `--cpu-prof`), highest first. */
export function topSelfTime(file: string, root: string, limit = 15): { totalMs: number; top: ProfileEntry[] } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const node = byId.get(prof.samples[i]);
    const dt = (prof.timeDeltas[i] ?? 0) / 1000;
    if (!node) continue;
    const key = describe(node, root);
    self.set(key, (self.get(key) ?? 0) + dt);
    if (key !== '(idle)') total += dt;
  }
  const top = [...self.entries()]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([where, ms]) => ({ where, selfMs: ms, share: total ? ms / total : 0 }));
  return { totalMs: total, top };
}

function describe(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (!url) return functionName || '(anonymous)';
  let file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  file = nm >= 0 ? file.slice(nm + 1) : path.relative(root, file);
  return `${file}:${functionName || '(anonymous)'}:${lineNumber + 1}`;
}
