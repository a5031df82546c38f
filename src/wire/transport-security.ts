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

/** Whether a ZeroMQ endpoint can only be reached from this machine. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  const match = /^([a-z]+):\/\/(.*)$/i.exec(endpoint.trim());
  if (!match) return false;
  const [, transport, rest] = match;
  if (transport === 'ipc' || transport === 'inproc') return true;
  if (transport !== 'tcp') return false;
  const address = rest.slice(rest.lastIndexOf(';') + 1); // tcp://SOURCE;HOST:PORT connects from SOURCE
  const host = /^\[([^\]]*)\]:[^:]*$/.exec(address)?.[1] ?? /^([^:[\]]*):[^:]*$/.exec(address)?.[1];
  return host !== undefined && isLoopbackHost(host);
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
