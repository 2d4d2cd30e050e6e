/* test-threadpool.c — the persistent worker pool: every thread runs each
 * job exactly once, results are visible to the caller when run returns (and
 * the caller's writes to the workers), sleeping workers wake up, and
 * create/free cycles leak nothing (ASan) and race nothing (TSan build). */
#include "test-common.h"

#include "cpu/threadpool.h"

#include <stdatomic.h>
#include <string.h>

#define N_VALUES 100003 /* prime: uneven splits */

typedef struct {
  const int64_t *values;
  int64_t n;
  int64_t partial[64]; /* per thread, plain (non-atomic) writes */
  int nth_seen[64];
  int runs_seen[64];   /* how often each thread index ran, plain writes */
  int round;           /* written by the caller before each run */
  int round_seen[64];
} sum_job;

static void sum_fn(int ith, int nth, void *user)
{
  sum_job *job = user;
  int64_t b, e;
  still_split_range(job->n, ith, nth, &b, &e);
  int64_t s = 0;
  for (int64_t i = b; i < e; i++) s += job->values[i];
  job->partial[ith] = s;
  job->nth_seen[ith] = nth;
  job->runs_seen[ith]++;
  job->round_seen[ith] = job->round;
}

static void parallel_sum(int n_threads, int runs)
{
  still_threadpool *tp = still_threadpool_new(n_threads);
  g_assert_nonnull(tp);
  g_assert_cmpint(still_threadpool_n_threads(tp), ==, n_threads);
  int64_t *values = g_new(int64_t, N_VALUES);
  for (int64_t i = 0; i < N_VALUES; i++) values[i] = i;
  sum_job job;
  memset(&job, 0, sizeof job);
  job.values = values;
  job.n = N_VALUES;
  int64_t expected = (int64_t)N_VALUES * (N_VALUES - 1) / 2;
  for (int r = 0; r < runs; r++) {
    /* the caller changes the data between runs: the workers must see it */
    const int64_t k = r % N_VALUES;
    values[k] += 3;
    expected += 3;
    job.round = r;
    for (int t = 0; t < n_threads; t++) job.partial[t] = -1;
    still_threadpool_run(tp, sum_fn, &job);
    int64_t total = 0;
    for (int t = 0; t < n_threads; t++) {
      g_assert_cmpint(job.round_seen[t], ==, r);
      g_assert_cmpint(job.nth_seen[t], ==, n_threads);
      total += job.partial[t];
    }
    g_assert_cmpint(total, ==, expected);
  }
  for (int t = 0; t < n_threads; t++) g_assert_cmpint(job.runs_seen[t], ==, runs);
  still_threadpool_free(tp);
  g_free(values);
}

static void test_sum_1(void) { parallel_sum(1, 1000); }
static void test_sum_2(void) { parallel_sum(2, 1000); }
static void test_sum_3(void) { parallel_sum(3, 1000); }
static void test_sum_8(void) { parallel_sum(8, 1000); }

/* Uneven work: thread ith spins ith·k iterations, so the caller (thread 0)
 * is usually first and must wait; the counter checks exactly-once. */
typedef struct {
  atomic_int calls;
  int spin;
} uneven_job;

static void uneven_fn(int ith, int nth, void *user)
{
  uneven_job *job = user;
  volatile unsigned sink = 0;
  for (int i = 0; i < ith * job->spin; i++) sink += (unsigned)i;
  (void)sink;
  (void)nth;
  atomic_fetch_add(&job->calls, 1);
}

static void test_uneven(void)
{
  for (int n = 2; n <= 5; n++) {
    still_threadpool *tp = still_threadpool_new(n);
    g_assert_nonnull(tp);
    uneven_job job;
    atomic_init(&job.calls, 0);
    for (int r = 0; r < 300; r++) {
      job.spin = (r % 7) * 50;
      still_threadpool_run(tp, uneven_fn, &job);
      g_assert_cmpint(atomic_load(&job.calls), ==, (r + 1) * n);
    }
    still_threadpool_free(tp);
  }
}

/* Workers that have gone to sleep (futex) must wake for the next run, and
 * a caller that went to sleep waiting for a slow worker must be woken. With
 * 2 threads (not more than this machine's CPUs) both sides spin first; with
 * more threads than CPUs they sleep almost at once: both paths run. */
static void test_sleep_wake(void)
{
  for (int n = 2; n <= 3; n++) {
    still_threadpool *tp = still_threadpool_new(n);
    g_assert_nonnull(tp);
    uneven_job job;
    atomic_init(&job.calls, 0);
    job.spin = 0;
    for (int r = 0; r < 5; r++) {
      g_usleep(20000); /* far longer than the spin phase */
      still_threadpool_run(tp, uneven_fn, &job);
      g_assert_cmpint(atomic_load(&job.calls), ==, n * (r + 1));
    }
    job.spin = 2000000; /* thread ith works ith · 2M iterations: milliseconds */
    for (int r = 0; r < 3; r++) {
      still_threadpool_run(tp, uneven_fn, &job);
      g_assert_cmpint(atomic_load(&job.calls), ==, n * (6 + r));
    }
    still_threadpool_free(tp);
  }
}

static void noop_fn(int ith, int nth, void *user)
{
  (void)ith;
  (void)nth;
  atomic_fetch_add((atomic_int *)user, 1);
}

static void test_create_free(void)
{
  for (int i = 0; i < 200; i++) {
    const int n = 1 + i % 8;
    still_threadpool *tp = still_threadpool_new(n);
    g_assert_nonnull(tp);
    atomic_int calls;
    atomic_init(&calls, 0);
    const int runs = i % 3; /* free right away, after one run, after two */
    for (int r = 0; r < runs; r++) still_threadpool_run(tp, noop_fn, &calls);
    g_assert_cmpint(atomic_load(&calls), ==, runs * n);
    still_threadpool_free(tp);
  }
  still_threadpool_free(NULL);
}

static void test_defaults(void)
{
  const int cores = still_cpu_physical_cores();
  g_assert_cmpint(cores, >=, 1);
  g_test_message("physical cores: %d", cores);
  still_threadpool *tp = still_threadpool_new(0);
  g_assert_nonnull(tp);
  g_assert_cmpint(still_threadpool_n_threads(tp), ==, cores);
  still_threadpool_free(tp);
  tp = still_threadpool_new(-3);
  g_assert_nonnull(tp);
  g_assert_cmpint(still_threadpool_n_threads(tp), ==, cores);
  still_threadpool_free(tp);
  g_assert_cmpint(still_threadpool_n_threads(NULL), ==, 1);
}

static void test_split_range(void)
{
  const int64_t ns[] = {0, 1, 5, 7, 64, 100003};
  for (size_t k = 0; k < G_N_ELEMENTS(ns); k++)
    for (int nth = 1; nth <= 9; nth++) {
      int64_t expect_begin = 0, min_sz = INT64_MAX, max_sz = 0;
      for (int ith = 0; ith < nth; ith++) {
        int64_t b, e;
        still_split_range(ns[k], ith, nth, &b, &e);
        g_assert_cmpint(b, ==, expect_begin);
        g_assert_cmpint(e, >=, b);
        min_sz = MIN(min_sz, e - b);
        max_sz = MAX(max_sz, e - b);
        expect_begin = e;
      }
      g_assert_cmpint(expect_begin, ==, ns[k]);
      g_assert_cmpint(max_sz - min_sz, <=, 1);
    }
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/threadpool/split-range", test_split_range);
  g_test_add_func("/threadpool/defaults", test_defaults);
  g_test_add_func("/threadpool/sum-1-thread", test_sum_1);
  g_test_add_func("/threadpool/sum-2-threads", test_sum_2);
  g_test_add_func("/threadpool/sum-3-threads", test_sum_3);
  g_test_add_func("/threadpool/sum-8-threads", test_sum_8);
  g_test_add_func("/threadpool/uneven-work", test_uneven);
  g_test_add_func("/threadpool/sleep-wake", test_sleep_wake);
  g_test_add_func("/threadpool/create-free", test_create_free);
  return g_test_run();
}
