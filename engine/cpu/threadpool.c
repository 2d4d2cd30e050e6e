/* threadpool.c — persistent workers, spin-then-sleep hand-off.
 *
 * Two counters carry the whole protocol:
 *   gen     bumped by the caller to start a run (workers wait for it to change)
 *   n_done  workers that finished the current run (the caller waits for n-1)
 * Each is also a futex word. Sleepers announce themselves (n_sleepers,
 * caller_sleeping) before re-checking the counter and sleeping; the other
 * side changes the counter before looking at the announcement. With
 * sequentially consistent atomics at least one of the two sees the other's
 * write, so a wake-up is never lost and the futex call is skipped whenever
 * nobody sleeps (the common case while spinning).
 */
#include "cpu/threadpool.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#define STILL_HAVE_FUTEX 1
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ volatile("yield" ::: "memory")
#else
#define cpu_relax() ((void)0)
#endif

/* Spin iterations before sleeping. A pause is ~10-150 cycles depending on
 * the CPU, so this is some tens of microseconds: longer than the gap
 * between two matmuls of a decode step, far shorter than a token. */
enum { SPIN_ITERS = 2048, SPIN_ITERS_OVERSUBSCRIBED = 16 };

typedef struct {
  still_threadpool *tp;
  int ith;
} worker_arg;

struct still_threadpool {
  int n_threads;
  int spin_iters;
  pthread_t *threads;
  worker_arg *args;

  /* the current run, written by the caller before it bumps gen */
  still_parallel_fn fn;
  void *user;

  _Alignas(64) atomic_uint gen;
  atomic_int n_sleepers;
  atomic_bool stop;
  _Alignas(64) atomic_uint n_done;
  atomic_bool caller_sleeping;

#ifndef STILL_HAVE_FUTEX
  pthread_mutex_t mu;
  pthread_cond_t cv;
#endif
};

/* ---- wait / wake on a 32-bit word ------------------------------------ */

#ifdef STILL_HAVE_FUTEX
static void word_wait(still_threadpool *tp, atomic_uint *word, unsigned expected)
{
  (void)tp;
  /* returns at once if *word != expected; spurious returns are fine,
   * callers loop */
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void word_wake(still_threadpool *tp, atomic_uint *word, int count)
{
  (void)tp;
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}
#else
static void word_wait(still_threadpool *tp, atomic_uint *word, unsigned expected)
{
  pthread_mutex_lock(&tp->mu);
  while (atomic_load(word) == expected) pthread_cond_wait(&tp->cv, &tp->mu);
  pthread_mutex_unlock(&tp->mu);
}

static void word_wake(still_threadpool *tp, atomic_uint *word, int count)
{
  (void)word;
  (void)count;
  /* taking the lock orders this wake after any waiter's check */
  pthread_mutex_lock(&tp->mu);
  pthread_mutex_unlock(&tp->mu);
  pthread_cond_broadcast(&tp->cv);
}
#endif

/* ---- workers --------------------------------------------------------- */

static unsigned wait_for_new_run(still_threadpool *tp, unsigned seen)
{
  for (int i = 0; i < tp->spin_iters; i++) {
    unsigned g = atomic_load(&tp->gen);
    if (g != seen) return g;
    cpu_relax();
  }
  atomic_fetch_add(&tp->n_sleepers, 1);
  unsigned g;
  while ((g = atomic_load(&tp->gen)) == seen) word_wait(tp, &tp->gen, seen);
  atomic_fetch_sub(&tp->n_sleepers, 1);
  return g;
}

static void *worker_main(void *p)
{
  const worker_arg *arg = p;
  still_threadpool *tp = arg->tp;
  const int ith = arg->ith, n = tp->n_threads;
  unsigned seen = 0; /* gen starts at 0 and the first run makes it 1 */
  for (;;) {
    seen = wait_for_new_run(tp, seen);
    if (atomic_load(&tp->stop)) break;
    tp->fn(ith, n, tp->user);
    const unsigned done = atomic_fetch_add(&tp->n_done, 1) + 1;
    if (done == (unsigned)(n - 1) && atomic_load(&tp->caller_sleeping)) word_wake(tp, &tp->n_done, 1);
  }
  return NULL;
}

/* ---- caller side ----------------------------------------------------- */

static int cpus_available(void)
{
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int c = CPU_COUNT(&set);
    if (c > 0) return c;
  }
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? (int)online : 1;
}

static void stop_workers(still_threadpool *tp, int started)
{
  atomic_store(&tp->stop, true);
  atomic_fetch_add(&tp->gen, 1);
  word_wake(tp, &tp->gen, INT_MAX);
  for (int i = 0; i < started; i++) pthread_join(tp->threads[i], NULL);
}

still_threadpool *still_threadpool_new(int n_threads)
{
  if (n_threads <= 0) n_threads = still_cpu_physical_cores();
  if (n_threads > STILL_MAX_THREADS) n_threads = STILL_MAX_THREADS;

  still_threadpool *tp = calloc(1, sizeof *tp);
  if (!tp) return NULL;
  tp->n_threads = n_threads;
  /* more threads than CPUs: a spinning thread would steal the CPU from the
   * very worker it waits for, so go to sleep almost at once */
  tp->spin_iters = n_threads > cpus_available() ? SPIN_ITERS_OVERSUBSCRIBED : SPIN_ITERS;
  atomic_init(&tp->gen, 0);
  atomic_init(&tp->n_sleepers, 0);
  atomic_init(&tp->stop, false);
  atomic_init(&tp->n_done, 0);
  atomic_init(&tp->caller_sleeping, false);
#ifndef STILL_HAVE_FUTEX
  pthread_mutex_init(&tp->mu, NULL);
  pthread_cond_init(&tp->cv, NULL);
#endif
  if (n_threads == 1) return tp;

  tp->threads = calloc((size_t)n_threads - 1, sizeof *tp->threads);
  tp->args = calloc((size_t)n_threads - 1, sizeof *tp->args);
  if (!tp->threads || !tp->args) {
    still_threadpool_free(tp);
    return NULL;
  }
  for (int i = 0; i < n_threads - 1; i++) {
    tp->args[i].tp = tp;
    tp->args[i].ith = i + 1;
    if (pthread_create(&tp->threads[i], NULL, worker_main, &tp->args[i]) != 0) {
      stop_workers(tp, i);
      tp->n_threads = 1; /* nothing left to join in free */
      still_threadpool_free(tp);
      return NULL;
    }
  }
  return tp;
}

void still_threadpool_free(still_threadpool *tp)
{
  if (!tp) return;
  if (tp->n_threads > 1 && tp->threads) stop_workers(tp, tp->n_threads - 1);
#ifndef STILL_HAVE_FUTEX
  pthread_mutex_destroy(&tp->mu);
  pthread_cond_destroy(&tp->cv);
#endif
  free(tp->threads);
  free(tp->args);
  free(tp);
}

int still_threadpool_n_threads(const still_threadpool *tp)
{
  return tp ? tp->n_threads : 1;
}

void still_threadpool_run(still_threadpool *tp, still_parallel_fn fn, void *user)
{
  const int n = tp->n_threads;
  if (n == 1) {
    fn(0, 1, user);
    return;
  }
  tp->fn = fn;
  tp->user = user;
  atomic_store(&tp->n_done, 0);
  atomic_fetch_add(&tp->gen, 1); /* publishes fn, user and n_done = 0 */
  if (atomic_load(&tp->n_sleepers) > 0) word_wake(tp, &tp->gen, INT_MAX);

  fn(0, n, user);

  const unsigned target = (unsigned)(n - 1);
  for (int i = 0; i < tp->spin_iters; i++) {
    if (atomic_load(&tp->n_done) == target) return;
    cpu_relax();
  }
  atomic_store(&tp->caller_sleeping, true);
  unsigned v;
  while ((v = atomic_load(&tp->n_done)) != target) word_wait(tp, &tp->n_done, v);
  atomic_store(&tp->caller_sleeping, false);
}
