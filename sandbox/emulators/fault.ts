// Injected failures: how tests (and the sandbox launcher) make a surface go down,
// rate-limit, slow down or recover, without the emulator growing special routes
// for it. Two sources: a fault set by a test (`set`), and standing conditions
// from the scenario or the environment (added latency, an error rate) that
// benchmarks use.
import type { SurfaceConditions } from '../scenario.js';

export interface Fault {
  /** HTTP status every API request answers with while the fault is set (400-599). */
  status: number;
  /** Sent as `Retry-After` (and in the API's error body where it has a place for it). */
  retryAfterSeconds?: number;
  /** Only the next N requests fail; then the fault clears itself. */
  times?: number;
}

const NO_CONDITIONS: SurfaceConditions = { latencyMs: 0, errorRate: 0, errorStatus: 503 };

/**
 * A small seeded generator (mulberry32): an error rate of 0.1 fails the same
 * requests on every run, so a benchmark's numbers can be compared run to run.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class FaultSwitch {
  private current: { status: number; retryAfterSeconds?: number; remaining?: number } | null = null;

  constructor(
    private readonly conditions: SurfaceConditions = NO_CONDITIONS,
    private readonly random: () => number = seededRandom(1),
  ) {}

  set(fault: Fault | null): void {
    if (fault === null) {
      this.current = null;
      return;
    }
    if (!Number.isInteger(fault.status) || fault.status < 400 || fault.status > 599) {
      throw new RangeError(`fault status must be an integer 400-599, got ${fault.status}`);
    }
    if (fault.retryAfterSeconds !== undefined && (!Number.isInteger(fault.retryAfterSeconds) || fault.retryAfterSeconds < 0)) {
      throw new RangeError('retryAfterSeconds must be a non-negative integer');
    }
    if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) {
      throw new RangeError('times must be a positive integer');
    }
    this.current = {
      status: fault.status,
      ...(fault.retryAfterSeconds !== undefined ? { retryAfterSeconds: fault.retryAfterSeconds } : {}),
      ...(fault.times !== undefined ? { remaining: fault.times } : {}),
    };
  }

  /** Waits out the surface's added latency; every API request passes here before it is answered. */
  async delay(): Promise<void> {
    if (this.conditions.latencyMs > 0) await new Promise((r) => setTimeout(r, this.conditions.latencyMs));
  }

  /** The fault that applies to this request, if any; counts it against `times`. */
  take(): { status: number; retryAfterSeconds?: number } | undefined {
    const f = this.current;
    if (f) {
      if (f.remaining !== undefined) {
        f.remaining -= 1;
        if (f.remaining <= 0) this.current = null;
      }
      return f.retryAfterSeconds !== undefined ? { status: f.status, retryAfterSeconds: f.retryAfterSeconds } : { status: f.status };
    }
    const { errorRate, errorStatus, retryAfterSeconds } = this.conditions;
    if (errorRate > 0 && this.random() < errorRate) {
      return retryAfterSeconds !== undefined ? { status: errorStatus, retryAfterSeconds } : { status: errorStatus };
    }
    return undefined;
  }
}
