/**
 * How node traffic (the controller's ROUTER, each node's DEALER) is secured.
 *
 * With CURVE keys, ZeroMQ authenticates both ends and encrypts every frame: the
 * controller is the CURVE server (its key pair), each node a client that knows the
 * controller's public key, and the controller's ZAP handler (core/zap-handler.ts)
 * admits only nodes whose public key it was given. Without keys, traffic is plain
 * and anyone who can reach the endpoint can join as a node.
 *
 * The rule both ends apply (requireSecureEndpoint): unauthenticated traffic is only
 * allowed on a loopback endpoint (127.x.x.x, ::1, localhost, or a local ipc:// or
 * inproc:// one) unless the user forced it with `insecure`. Anything this module
 * cannot read as a loopback address counts as not loopback.
 *
 * readEndpoint is the one reading of an endpoint: the loopback rule uses it, and so
 * does every command-line option that takes one (cli/options.ts parseEndpointOption),
 * so a malformed endpoint or a port out of range is refused before libzmq sees it.
 */
import { isIP } from 'node:net';
import type { Dealer, Router } from 'zeromq';
import type { Logger } from '../common/log';

/** The controller's CURVE settings: its key pair and the node public keys it admits. */
export interface CurveServerConfig {
  publicKey: string;
  secretKey: string;
  authorizedKeys: string[];
}

/** A node's CURVE settings: its key pair and the controller's public key. */
export interface CurveClientConfig {
  publicKey: string;
  secretKey: string;
  serverPublicKey: string;
}

/** A non-loopback endpoint without CURVE and without the user's explicit consent. */
export class InsecureEndpointError extends Error {}

/** The ZAP domain the controller's ROUTER asks its ZAP handler about. */
export const ZAP_DOMAIN = 'raidfs';

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** A ZeroMQ endpoint read apart: tcp://[SOURCE;]HOST:PORT (HOST without IPv6 brackets), ipc://PATH, inproc://NAME. */
export type Endpoint = { transport: 'tcp'; host: string; port: number | '*' } | { transport: 'ipc' | 'inproc'; name: string };

/** An endpoint raidfs cannot use; the message says what is wrong, without the endpoint. */
export class MalformedEndpointError extends Error {}

const ENDPOINT_FORM = 'expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:5557 (IPv6: tcp://[::1]:5557), or ipc://PATH';

/**
 * Reads `endpoint`, or throws MalformedEndpointError saying what is wrong: "port
 * 99999 is out of range 0-65535", "malformed endpoint: expected tcp://HOST:PORT, ...".
 * `side` is the end that uses it: one that listens may ask for any free port (0 or *)
 * on every address (* as HOST); one that connects needs the listener's address and port.
 * Checked here, not left to libzmq, which takes a port beyond 65535 modulo 65536.
 */
export function readEndpoint(endpoint: string, side: 'listen' | 'connect'): Endpoint {
  const match = /^([a-z]+):\/\/(.+)$/i.exec(endpoint.trim());
  if (!match) throw new MalformedEndpointError(`malformed endpoint: ${ENDPOINT_FORM}`);
  const transport = match[1].toLowerCase();
  if (transport === 'ipc' || transport === 'inproc') return { transport, name: match[2] };
  if (transport !== 'tcp') throw new MalformedEndpointError(`${transport}:// is not a transport raidfs uses: ${ENDPOINT_FORM}`);
  const address = match[2].slice(match[2].lastIndexOf(';') + 1); // tcp://SOURCE;HOST:PORT connects from SOURCE
  const parts = /^(?:\[([^\]]*)\]|([^:[\]\s/]*)):([^:]*)$/.exec(address);
  if (!parts) {
    throw new MalformedEndpointError(address.includes(':') && !address.includes('[')
      ? `malformed endpoint: an IPv6 address goes in brackets, e.g. tcp://[::1]:5557` : `malformed endpoint: ${ENDPOINT_FORM}`);
  }
  const host = parts[1] ?? parts[2];
  if (host === '' || (parts[1] !== undefined && host !== '*' && isIP(host) !== 6)) throw new MalformedEndpointError(`malformed endpoint: no host: ${ENDPOINT_FORM}`);
  if (side === 'connect' && host === '*') throw new MalformedEndpointError('* (every address) is for listening: give the address of the controller');
  const portText = parts[3];
  if (portText === '*' && side === 'listen') return { transport: 'tcp', host, port: '*' };
  if (!/^-?\d+$/.test(portText)) throw new MalformedEndpointError(`malformed endpoint: the port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  const lowest = side === 'listen' ? 0 : 1;
  if (port < lowest || port > 65535) {
    throw new MalformedEndpointError(`port ${portText} is out of range ${lowest}-65535${side === 'connect' && port === 0 ? ' (give the port the controller listens on)' : ''}`);
  }
  return { transport: 'tcp', host, port };
}

/** Whether a ZeroMQ endpoint can only be reached from this machine (a malformed one cannot be). */
export function isLoopbackEndpoint(endpoint: string): boolean {
  let read: Endpoint;
  try {
    read = readEndpoint(endpoint, 'listen');
  } catch {
    return false;
  }
  return read.transport !== 'tcp' || isLoopbackHost(read.host);
}

/**
 * Throws InsecureEndpointError unless traffic on `endpoint` is CURVE-protected, the
 * endpoint is loopback, or `insecure` is set. `side` says which end asks (the
 * controller listening, or a node connecting), for the flags the message names; the
 * caller puts the endpoint in front of the message.
 */
export function requireSecureEndpoint(endpoint: string, options: { curve: boolean; insecure: boolean; side: 'listen' | 'connect' }): void {
  if (options.curve || options.insecure || isLoopbackEndpoint(endpoint)) return;
  const keys = options.side === 'listen' ? '--key and --authorized-keys' : '--key and --controller-key';
  throw new InsecureEndpointError('not a loopback address, and node traffic without CURVE is neither authenticated nor encrypted: '
    + `give ${keys} (\`raidfs keygen\` makes the keys), or --insecure to allow it anyway`);
}

/** The endpoint a process on this machine connects to for a bound endpoint: wildcards become loopback. */
export function localEndpoint(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/(?:0\.0\.0\.0|\*):/, 'tcp://127.0.0.1:').replace(/^tcp:\/\/\[(?:::|\*)\]:/, 'tcp://[::1]:');
}

/** ROUTER options that make it a CURVE server asking the ZAP handler about every client. */
export function curveServerSocketOptions(curve: CurveServerConfig | undefined): Partial<Pick<Router, 'curveServer' | 'curvePublicKey' | 'curveSecretKey' | 'zapDomain' | 'zapEnforceDomain'>> {
  if (!curve) return {};
  // zapEnforceDomain: with no ZAP handler answering, libzmq refuses clients instead of admitting all.
  return { curveServer: true, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey, zapDomain: ZAP_DOMAIN, zapEnforceDomain: true };
}

/** DEALER options that make it a CURVE client of the controller. */
export function curveClientSocketOptions(curve: CurveClientConfig | undefined): Partial<Pick<Dealer, 'curveServerKey' | 'curvePublicKey' | 'curveSecretKey'>> {
  if (!curve) return {};
  return { curveServerKey: curve.serverPublicKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey };
}

/**
 * Logs failed security handshakes of a connecting socket (a refused key, a CURVE
 * mismatch) once per run of failures: libzmq keeps retrying silently otherwise.
 */
export function logHandshakeFailures(socket: Dealer, log: Logger): void {
  let failing = false;
  const failed = (what: string) => (event: { address: string; error: Error }) => {
    if (!failing) log.warn(what, { controller: event.address, error: event.error.message });
    failing = true;
  };
  socket.events.on('handshake', () => { failing = false; });
  socket.events.on('handshake:error:auth', failed('the controller refused this node\'s key (is it in the controller\'s authorized_keys?)'));
  socket.events.on('handshake:error:protocol', failed('security handshake with the controller failed (CURVE on one side only, or the wrong controller key?)'));
  socket.events.on('handshake:error:other', failed('security handshake with the controller failed'));
}
