/**
 * The runtime's timeout timer with lengths past Node's setTimeout limit (2^31-1 ms, about 24.8
 * days, beyond which Node fires at once): background jobs may be given timeouts of months.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PausableTimer } from '../../src/local/runtime/exec-handle.js';

const MAX = 2 ** 31 - 1;

describe('PausableTimer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fires after a delay longer than setTimeout can take, not before', () => {
    const fire = vi.fn();
    new PausableTimer(365 * 86_400_000, fire);
    vi.advanceTimersByTime(MAX + 1000);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(365 * 86_400_000 - MAX - 1001);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('a pause holds the remaining time, across the re-arm', () => {
    const fire = vi.fn();
    const timer = new PausableTimer(MAX + 10_000, fire);
    vi.advanceTimersByTime(MAX + 5_000);
    timer.pause();
    vi.advanceTimersByTime(10 * MAX);
    expect(fire).not.toHaveBeenCalled();
    timer.resume();
    vi.advanceTimersByTime(4_999);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
  });
});
