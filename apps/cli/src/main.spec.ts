import { EXIT_USAGE, runCli } from './main';

/** `ycloud`'s dispatch and usage errors: exit codes and the one-line reason a user sees. */
describe('ycloud (runCli)', () => {
  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
    return { code, out, err };
  }

  it('names the commands when none is given', async () => {
    const r = await run();
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toBe('ycloud: missing command (translate, journal, diagnose, bench, sandbox); see ycloud --help\n');
  });

  it('rejects an unknown command or option with one line', async () => {
    const cmd = await run('transalte');
    expect(cmd.code).toBe(EXIT_USAGE);
    expect(cmd.err.trim().split('\n')).toEqual([expect.stringMatching(/^ycloud: unknown command 'transalte'/)]);
    const opt = await run('--frobnicate');
    expect(opt.code).toBe(EXIT_USAGE);
    expect(opt.err).toBe("ycloud: unknown option '--frobnicate'\n");
  });

  it('lists every command in --help and exits 0', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/translate\s.*manifests/);
    expect(r.out).toMatch(/journal\s.*controller changed/);
    expect(r.out).toMatch(/sandbox\s/);
  });

  it('hands the arguments after translate and journal to their commands, with their exit codes', async () => {
    const t = await run('translate');
    expect(t.code).toBe(1);
    expect(t.err).toContain('no manifests: give paths or -f FILE_OR_DIR');
    const j = await run('journal', '--since', 'yesterday-ish');
    expect(j.code).toBe(2);
    expect(j.err).toMatch(/^ycloud journal: .*yesterday-ish/);
  });

  it('rejects an unknown sandbox sub-command', async () => {
    const r = await run('sandbox', 'explode');
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toMatch(/^ycloud: unknown command 'explode'/);
  });
});
