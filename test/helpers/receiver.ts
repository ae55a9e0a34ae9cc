// A webhook receiver on 127.0.0.1 for tests: records every POST (raw body and parsed JSON) and
// answers what the test scripts, in order (the last answer repeats).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPost {
  path: string;
  contentType: string | undefined;
  raw: string;
  json: unknown;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface Receiver {
  readonly url: string;
  readonly posts: ReceivedPost[];
  /** The answers to the next posts, in order; the last one repeats (default 200 "ok"). */
  answer(...answers: ScriptedAnswer[]): void;
  close(): Promise<void>;
}

export async function startReceiver(path = '/services/T000/B000/secretpath'): Promise<Receiver> {
  const posts: ReceivedPost[] = [];
  let script: ScriptedAnswer[] = [{ status: 200, body: 'ok' }];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(raw);
      } catch {
        // recorded as raw only
      }
      posts.push({ path: req.url ?? '', contentType: req.headers['content-type'], raw, json });
      const next = script.length > 1 ? (script.shift() as ScriptedAnswer) : (script[0]);
      res.writeHead(next.status, { 'Content-Type': 'text/plain', ...next.headers });
      res.end(next.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    posts,
    answer: (...answers) => {
      script = answers.length > 0 ? answers : [{ status: 200, body: 'ok' }];
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
