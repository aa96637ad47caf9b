/**
 * A txtar-like archive: free text (the script) up to the first `-- name --` line, then named sections, each up to
 * the next header. Section text keeps its bytes, including the final newline.
 */
export interface Txtar {
  script: string;
  sections: Map<string, string>;
}

const HEADER = /^-- (\S+) --$/;

export function parseTxtar(text: string): Txtar {
  const lines = text.split('\n');
  const script: string[] = [];
  const sections = new Map<string, string>();
  let current: { name: string; lines: string[] } | undefined;
  // Lines end with a newline: a section closed by the next header gets its last one back; the last section keeps
  // the file's own ending.
  const close = (atEnd: boolean): void => {
    if (current) sections.set(current.name, current.lines.join('\n') + (atEnd ? '' : '\n'));
  };
  for (let i = 0; i < lines.length; i++) {
    const header = HEADER.exec(lines[i]);
    if (header) {
      close(false);
      if (sections.has(header[1])) throw new Error(`line ${i + 1}: section ${header[1]} appears twice`);
      current = { name: header[1], lines: [] };
    } else if (current) current.lines.push(lines[i]);
    else script.push(lines[i]);
  }
  close(true);
  return { script: script.join('\n'), sections };
}

export function formatTxtar(archive: Txtar): string {
  if (archive.sections.size === 0) return archive.script;
  return `${archive.script}\n` + [...archive.sections].map(([name, body]) => `-- ${name} --\n${body}`).join('');
}
