import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { run } from './process';

/** Key, certificate and CA of one party, in the layout of a Kubernetes TLS Secret (tls.key, tls.crt, ca.crt). */
export interface TlsFiles {
  /** Directory holding the three files (what `--nb-tls-dir` and the OVN image's /etc/ovn/tls take). */
  dir: string;
  key: string;
  cert: string;
  ca: string;
}

/** A private CA with a server and a client certificate for OVSDB mutual TLS, made with openssl. */
export interface OvsdbPki {
  server: TlsFiles;
  client: TlsFiles;
}

/**
 * Makes a CA and, signed by it, a server and a client certificate under `dir` (`dir/server`, `dir/client`).
 * `name` goes into the subjects, so two PKIs made for one test are told apart. OVS checks the chain, not host
 * names, so the server certificate names no address.
 */
export async function createOvsdbPki(dir: string, name = 'ycloud-test'): Promise<OvsdbPki> {
  await fs.mkdir(dir, { recursive: true });
  const caKey = path.join(dir, 'ca.key');
  const caCert = path.join(dir, 'ca.crt');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}-ca`,
  ]);
  const party = async (role: 'server' | 'client'): Promise<TlsFiles> => {
    const d = path.join(dir, role);
    await fs.mkdir(d, { recursive: true });
    const f: TlsFiles = {
      dir: d,
      key: path.join(d, 'tls.key'),
      cert: path.join(d, 'tls.crt'),
      ca: path.join(d, 'ca.crt'),
    };
    const csr = path.join(d, 'tls.csr');
    await run('openssl', ['req', '-new', ...ec, '-keyout', f.key, '-out', csr, '-subj', `/CN=${name}-${role}`]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caCert,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-out',
      f.cert,
      '-days',
      '2',
    ]);
    await fs.copyFile(caCert, f.ca);
    await fs.rm(csr);
    return f;
  };
  return { server: await party('server'), client: await party('client') };
}

/** ovsdb-server / ovn-controller / ovn-nbctl arguments for one party's TLS files. */
export function ovsTlsArgs(f: TlsFiles): string[] {
  return [`--private-key=${f.key}`, `--certificate=${f.cert}`, `--ca-cert=${f.ca}`];
}
