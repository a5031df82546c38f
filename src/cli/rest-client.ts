/**
 * The operator commands' side of the REST API (`raidfs status`, `repair`, `scrub`,
 * `drain`, `forget-node`): the answer printed as JSON (--json) or as text;
 * the --rest/--rest-token options they share with the controller, and one JSON
 * request with a deadline. A JSON error from the controller, a refused connection or
 * the deadline passing becomes a one-line error (exit 1).
 */
import { REST_DEFAULTS, restUrl } from '../rest/server';
import { OptionSpec, OptionValues, parseDuration } from './options';
import { parseHostPort } from './rest-options';

export const restClientOptionSpecs: Record<string, OptionSpec> = {
  rest: { type: 'string', help: 'HOST:PORT of the controller\'s REST API', default: `${REST_DEFAULTS.host}:${REST_DEFAULTS.port}` },
  'rest-token': { type: 'string', help: 'bearer token of the REST API' },
};

export interface RestClient {
  url: string;
  request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, timeoutMs: number): Promise<T>;
}

export function restClientFrom(values: OptionValues): RestClient {
  const { host, port } = parseHostPort(values.rest as string);
  const url = restUrl(host, port);
  const token = values['rest-token'] as string | undefined;
  return {
    url,
    async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, timeoutMs: number): Promise<T> {
      let res: Response;
      try {
        res = await fetch(`${url}${path}`, {
          method,
          headers: token ? { authorization: `Bearer ${token}` } : {},
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const cause = (err as Error).name === 'TimeoutError' ? 'TimeoutError'
          : (err as { cause?: { code?: string; message?: string } }).cause?.code ?? (err as { cause?: Error }).cause?.message ?? (err as Error).message;
        const why = cause === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : cause === 'ECONNREFUSED' ? 'connection refused (is the controller running with its REST API?)' : cause;
        throw new Error(`cannot reach the controller at ${url}: ${why}`);
      }
      const body = await res.json().catch(() => undefined) as (T & { error?: string }) | undefined;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${body?.error ?? res.statusText}`);
      if (body === undefined) throw new Error(`${method} ${path}: the answer is not JSON`);
      return body;
    },
  };
}

/** The --timeout option of the commands that wait for a pass to finish. */
export const passTimeoutSpec: OptionSpec = { type: 'string', help: 'how long to wait for the pass to finish', default: '1h' };

export function passTimeoutFrom(values: OptionValues): number {
  return parseDuration(values.timeout as string, '--timeout');
}

/** Prints a controller's answer: as it came (JSON) with --json, else the command's text for it. */
export function printAnswer(values: OptionValues, answer: unknown, text: () => string): void {
  process.stdout.write(values.json ? `${JSON.stringify(answer, null, 2)}\n` : text());
}
