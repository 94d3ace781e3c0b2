/**
 * The memory cap of the prlimit tier (no cgroups): RLIMIT_AS on python, plus the environment that
 * keeps that cap about memory rather than about reservations.
 *
 * RLIMIT_AS counts address space, and three things reserve much more of it than they use:
 *  - OpenBLAS maps a 128 MiB buffer for every thread it runs BLAS on, one thread per host CPU by
 *    default. When that mmap fails it retries forever (blas_memory_alloc, OpenBLAS 0.3.21 in
 *    Debian 12): the kernel spins at 100 % CPU in numpy.linalg.inv, e.g. from plt.show().
 *  - glibc gives each new thread its own 64 MiB malloc arena (up to 8 per CPU).
 *  - every thread has an 8 MiB stack.
 * Measured on 2 cores with the python kernel after `import pandas, matplotlib; plt.show()`: 653 MiB
 * of a 640 MiB cap (128 MiB + a fixed 512 MiB headroom), so one more thread (the user's, or one
 * more CPU for OpenBLAS) hung every plot. Telling OpenBLAS/OpenMP the sandbox's vCPU count (what
 * a VM of that size would report) and using one malloc arena bounds the reservations; the
 * headroom then grows with that thread count instead of being a guess.
 */

const MIB = 1024 * 1024;
/** Interpreter, numpy/pandas/matplotlib libraries and the kernel's own threads (measured ~185 MiB), with room to spare. */
const BASE_HEADROOM_MB = 384;
/** Per BLAS thread: OpenBLAS's buffer (128 MiB) and the thread's stack (8 MiB). */
const PER_BLAS_THREAD_MB = 128 + 8;

export interface AddressSpaceCap {
  /** RLIMIT_AS in bytes. */
  bytes: number;
  /** Environment under the request's: thread counts for BLAS/OpenMP and one malloc arena. */
  env: Record<string, string>;
}

/** The cap for a sandbox of `limits` on a host with `hostCpus` CPUs. */
export function addressSpaceCap(limits: { memoryMb: number; vcpu: number }, hostCpus: number): AddressSpaceCap {
  const threads = blasThreads(limits.vcpu, hostCpus);
  const mb = limits.memoryMb + BASE_HEADROOM_MB + threads * PER_BLAS_THREAD_MB;
  return {
    bytes: mb * MIB,
    env: {
      OPENBLAS_NUM_THREADS: String(threads),
      OMP_NUM_THREADS: String(threads),
      MALLOC_ARENA_MAX: '1',
    },
  };
}

/** The sandbox's vCPUs (rounded up), never more than the host has. */
function blasThreads(vcpu: number, hostCpus: number): number {
  return Math.max(1, Math.min(Math.ceil(vcpu), hostCpus));
}
