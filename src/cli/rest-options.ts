/**
 * The REST settings that `raidfs up` and `raidfs controller` share, declared once,
 * and their conversion into RestOptions (undefined with --no-rest).
 *
 * The token comes from --rest-token, RAIDFS_REST_TOKEN or the config file (options.ts;
 * the latter two keep it out of `ps` output); with none, there is no authentication,
 * which a warning points out when the address is not loopback.
 */
import { createLogger } from '../common/log';
import { OptionSpec, OptionValues, parseSize, UsageError } from './options';
import { REST_DEFAULTS, RestOptions } from '../rest/server';
import { isLoopbackHost } from '../wire/transport-security';

export const restOptionSpecs: Record<string, OptionSpec> = {
  rest: { type: 'string', help: 'serve the REST API on HOST:PORT (port 0 picks a free one)', default: `${REST_DEFAULTS.host}:${REST_DEFAULTS.port}` },
  'no-rest': { type: 'boolean', help: 'do not serve the REST API' },
  'rest-token': { type: 'string', help: 'token every REST request must carry: a bearer header, or the dashboard\'s login (unset: no authentication)' },
  'rest-max-upload': { type: 'string', help: 'largest file a REST upload may store, e.g. 10GiB (default: the largest file raidfs stores, 16 TiB less 4 KiB)' },
};

const log = createLogger('rest');

export function restOptionsFrom(values: OptionValues): RestOptions | undefined {
  if (values['no-rest']) return undefined;
  const { host, port } = parseHostPort(values.rest as string);
  const token = values['rest-token'] as string | undefined;
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    throw new UsageError('--rest-token: the token must be non-empty printable ASCII without spaces');
  }
  if (token === undefined && !isLoopbackHost(host)) log.warn('REST API on a non-loopback address without a token: anyone who can reach it can read and delete files', { host });
  const maxUpload = values['rest-max-upload'];
  return { host, port, token, maxUploadBytes: typeof maxUpload === 'string' ? parseSize(maxUpload, '--rest-max-upload') : undefined };
}

/** "127.0.0.1:9000", "localhost:9000", "[::1]:9000", "0.0.0.0:0". */
export function parseHostPort(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`--rest: expected HOST:PORT, e.g. 127.0.0.1:9000, not ${JSON.stringify(value)}`);
  return { host: match[1] ?? match[2], port };
}
