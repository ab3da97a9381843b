// Injected failures: how tests (and the sandbox launcher) make a surface go down,
// rate-limit, or recover, without the emulator growing special routes for it.

export interface Fault {
  /** HTTP status every API request answers with while the fault is set (400-599). */
  status: number;
  /** Sent as `Retry-After` (and in the API's error body where it has a place for it). */
  retryAfterSeconds?: number;
  /** Only the next N requests fail; then the fault clears itself. */
  times?: number;
}

export class FaultSwitch {
  private current: { status: number; retryAfterSeconds?: number; remaining?: number } | null = null;

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

  /** The fault that applies to this request, if any; counts it against `times`. */
  take(): { status: number; retryAfterSeconds?: number } | undefined {
    const f = this.current;
    if (!f) return undefined;
    if (f.remaining !== undefined) {
      f.remaining -= 1;
      if (f.remaining <= 0) this.current = null;
    }
    return f.retryAfterSeconds !== undefined ? { status: f.status, retryAfterSeconds: f.retryAfterSeconds } : { status: f.status };
  }
}
