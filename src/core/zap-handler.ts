/**
 * The controller's ZAP handler (ZeroMQ RFC 27): the gate that decides which CURVE
 * clients may finish their handshake with the controller's ROUTER.
 *
 * libzmq asks the handler bound at inproc://zeromq.zap.01 in the socket's own
 * context about every incoming CURVE handshake, with one request
 *   [version "1.0", request id, domain, address, identity, mechanism, client key]
 * and waits for the reply
 *   [version "1.0", request id, status code, status text, user id, metadata].
 * This handler answers 200 when the mechanism is CURVE, the domain is raidfs's and
 * the client's 32-byte public key is one of the authorized keys, and 400 otherwise.
 *
 * Invariants: every request gets exactly one reply (a REP socket must answer before
 * it reads again), malformed ones included; only listed keys are ever admitted. The
 * handler lives in a context of its own per controller (see node-transport.ts), so
 * two controllers in one process never answer for each other, and the ROUTER sets
 * zapEnforceDomain, so a handler that is gone means refusal, not admission.
 * Refusals are logged, at most once a minute per key and address.
 */
import { Context, Reply } from 'zeromq';
import { createLogger, errorMessage } from '../common/log';
import { keyBytes, keyText } from '../wire/curve-keys';
import { ZAP_DOMAIN } from '../wire/transport-security';

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
const ZAP_VERSION = '1.0';
const REFUSAL_LOG_INTERVAL_MS = 60_000;

export class ZapHandler {
  private readonly log = createLogger('zap');
  /** Hex of the 32-byte authorized keys. */
  private readonly allowed: ReadonlySet<string>;
  private readonly lastRefusalLog = new Map<string, number>();
  private closed = false;

  private constructor(private readonly socket: Reply, authorizedKeys: readonly string[]) {
    this.allowed = new Set(authorizedKeys.map((k) => keyBytes(k).toString('hex')));
  }

  /** Binds the handler in `context`; call before the CURVE server socket accepts anyone. */
  static async start(context: Context, authorizedKeys: readonly string[]): Promise<ZapHandler> {
    const socket = new Reply({ context, linger: 0 });
    try {
      const handler = new ZapHandler(socket, authorizedKeys);
      await socket.bind(ZAP_ENDPOINT);
      void handler.serve();
      return handler;
    } catch (err) {
      socket.close();
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.socket.close();
  }

  private async serve(): Promise<void> {
    while (!this.closed) {
      try {
        const request = await this.socket.receive();
        await this.socket.send(this.answer(request));
      } catch (err) {
        if (this.closed) return;
        this.log.warn('ZAP request not answered', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 100)); // never spin on a socket that keeps failing
      }
    }
  }

  /** The reply frames to one ZAP request. */
  private answer(request: Buffer[]): Array<Buffer | string> {
    const [version, requestId, domain, address, , mechanism, ...credentials] = request;
    const reply = (status: '200' | '400' | '500', text: string, userId = '') =>
      [ZAP_VERSION, requestId ?? '', status, text, userId, ''];
    if (request.length < 6 || version.toString() !== ZAP_VERSION) return reply('500', 'malformed ZAP request');
    if (domain.toString() !== ZAP_DOMAIN) return reply('400', 'unknown domain');
    const key = credentials[0];
    if (mechanism.toString() !== 'CURVE' || credentials.length !== 1 || key.length !== 32) return reply('400', 'CURVE required');
    if (this.allowed.has(key.toString('hex'))) {
      this.log.debug('node key admitted', { address: address.toString(), key: keyText(key) });
      return reply('200', 'OK', keyText(key));
    }
    this.logRefusal(address.toString(), keyText(key));
    return reply('400', 'key not authorized');
  }

  private logRefusal(address: string, key: string): void {
    const id = `${address} ${key}`;
    const now = Date.now();
    if (now - (this.lastRefusalLog.get(id) ?? -Infinity) < REFUSAL_LOG_INTERVAL_MS) return;
    if (this.lastRefusalLog.size >= 1000) this.lastRefusalLog.clear();
    this.lastRefusalLog.set(id, now);
    this.log.warn('refused a node whose key is not in authorized_keys', { address, key });
  }
}
