/**
 * Serialises sends on one ZeroMQ socket. zeromq.js allows a single pending send()
 * per socket (a second throws EBUSY), so every sender goes through this queue. Each
 * send is bounded by the socket's sendTimeout; a failed send rejects only its own
 * caller and the queue moves on.
 */
import type { Writable } from 'zeromq';

export class SendQueue {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly socket: Writable) {}

  send(frames: Array<Buffer | string>): Promise<void> {
    const sent = this.tail.then(() => this.socket.send(frames));
    this.tail = sent.catch(() => undefined);
    return sent;
  }
}
