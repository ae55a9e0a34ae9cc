// The one injectable clock. Everything that needs "now" takes a Clock, so tests can pin time to
// realistic epochs and the local runner can follow the sandbox's accelerated clock.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private currentMs: number;
  constructor(startMs: number) {
    this.currentMs = startMs;
  }
  nowMs(): number {
    return this.currentMs;
  }
  set(ms: number): void {
    this.currentMs = ms;
  }
  advance(ms: number): void {
    this.currentMs += ms;
  }
}

/**
 * A clock that runs `speed` times faster than the system clock from an anchor: the sandbox's
 * clock as seen from outside. `anchorMs` is the followed clock's time at `anchorRealMs`.
 */
export class ScaledClock implements Clock {
  constructor(
    private readonly anchorMs: number,
    private readonly speed: number,
    private readonly real: Clock = systemClock,
    private readonly anchorRealMs: number = real.nowMs(),
  ) {}
  nowMs(): number {
    return this.anchorMs + (this.real.nowMs() - this.anchorRealMs) * this.speed;
  }
}

export const nowSeconds = (clock: Clock): number => Math.floor(clock.nowMs() / 1000);

/** Sleep in real time; injectable so tests of retry logic do not wait. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
