/* threadpool.h — a persistent pool of worker threads with spin-then-sleep
 * barriers. One parallel "run" calls fn(ith, nth, user) on every thread
 * (the caller is thread 0) and returns when all are done.
 *
 * Workers spin briefly (with a pause instruction) waiting for the next run,
 * because decode issues hundreds of small runs per token and a sleep/wake
 * costs microseconds; after the spin they sleep on a futex (a condition
 * variable on systems without futexes). Everything fn wrote is visible to
 * the caller when still_threadpool_run returns, and everything the caller
 * wrote before the call is visible inside fn.
 *
 * One pool serves one caller thread at a time: still_threadpool_run is not
 * reentrant and must not be called from inside fn or concurrently.
 */
#ifndef STILL_CPU_THREADPOOL_H
#define STILL_CPU_THREADPOOL_H

#include <stdint.h>

typedef struct still_threadpool still_threadpool;
typedef void (*still_parallel_fn)(int ith, int nth, void *user);

/* n_threads <= 0: number of physical cores. At most STILL_MAX_THREADS.
 * NULL on failure (out of memory, thread creation failed). */
#define STILL_MAX_THREADS 512
still_threadpool *still_threadpool_new(int n_threads);
void still_threadpool_free(still_threadpool *tp); /* NULL is fine */
int still_threadpool_n_threads(const still_threadpool *tp);
void still_threadpool_run(still_threadpool *tp, still_parallel_fn fn, void *user);
/* Physical cores of this machine available to this process (at least 1). */
int still_cpu_physical_cores(void);

/* The share [*begin, *end) of n items for thread ith of nth: contiguous,
 * sizes differ by at most one. */
static inline void still_split_range(int64_t n, int ith, int nth, int64_t *begin, int64_t *end)
{
  const int64_t base = n / nth, extra = n % nth;
  *begin = ith * base + (ith < extra ? ith : extra);
  *end = *begin + base + (ith < extra ? 1 : 0);
}

#endif
