/**
 * A TLS front of ours for a plain-HTTP test server (the servers run without TLS here): a fresh
 * self-signed certificate for 127.0.0.1, and a proxy passing the decrypted bytes through unchanged.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';

export interface TlsProxy {
  /** https://127.0.0.1:<port> */
  url: string;
  /** The self-signed certificate (its own CA), PEM. */
  caFile: string;
  close(): Promise<void>;
}

/** A fresh self-signed certificate (its own CA) for 127.0.0.1 and localhost, in a new temporary folder. */
export function selfSignedCertificate(): { dir: string; keyFile: string; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pdm-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { dir, keyFile, certFile };
}

export async function startTlsProxy(upstream: URL): Promise<TlsProxy> {
  const { dir, keyFile, certFile: caFile } = selfSignedCertificate();
  const proxy = createServer({ key: readFileSync(keyFile), cert: readFileSync(caFile) }, (socket) => {
    const back = connect(Number(upstream.port), upstream.hostname);
    socket.pipe(back).pipe(socket);
    socket.on('error', () => back.destroy());
    back.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(proxy.address() as { port: number }).port}`,
    caFile,
    close: async () => {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
