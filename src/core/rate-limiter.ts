/**
 * Paces background traffic (repair, scrub) to a byte rate so user I/O stays fast:
 * take(bytes) waits until the bytes fit the rate since the limiter last went idle.
 * The first take after an idle spell does not wait (a burst of one request).
 */
export class RateLimiter {
  private nextFreeMs = 0;

  constructor(private readonly bytesPerSecond: number) {}

  async take(bytes: number): Promise<void> {
    if (!(this.bytesPerSecond > 0) || !Number.isFinite(this.bytesPerSecond)) return;
    const now = Date.now();
    const start = Math.max(now, this.nextFreeMs);
    this.nextFreeMs = start + (bytes / this.bytesPerSecond) * 1000;
    if (start > now) await new Promise((resolve) => setTimeout(resolve, start - now));
  }
}
