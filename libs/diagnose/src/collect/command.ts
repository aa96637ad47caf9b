/** Runs a program (structurally the node agent's CommandRunner, so the agent passes its own). */
export interface DiagnoseCommandRunner {
  run(
    cmd: string,
    args: string[],
    opts?: { timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}
