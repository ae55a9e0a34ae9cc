// The sandbox clock: starts at the fixture's `now` and runs `speed` sandbox seconds per real
// second (0 = frozen). It only moves forward; delivery is generated for the time that passes.
import { systemClock, type Clock } from '../functions/shared/clock';

export class SandboxClock implements Clock {
  private anchorMs: number;
  private anchorRealMs: number;

  constructor(startMs: number, private speedValue: number, private readonly real: Clock = systemClock) {
    this.anchorMs = startMs;
    this.anchorRealMs = real.nowMs();
  }

  nowMs(): number {
    return this.anchorMs + (this.real.nowMs() - this.anchorRealMs) * this.speedValue;
  }

  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  get speed(): number {
    return this.speedValue;
  }

  /** Jump to `ms` (never backwards: delivery already generated cannot be undone). */
  set(ms: number): void {
    const current = this.nowMs();
    if (ms < current) throw new RangeError(`The sandbox clock only moves forward (now ${Math.floor(current / 1000)}, asked ${Math.floor(ms / 1000)}).`);
    this.anchorMs = ms;
    this.anchorRealMs = this.real.nowMs();
  }

  advance(seconds: number): void {
    this.set(this.nowMs() + seconds * 1000);
  }

  setSpeed(speed: number): void {
    this.anchorMs = this.nowMs();
    this.anchorRealMs = this.real.nowMs();
    this.speedValue = speed;
  }
}
