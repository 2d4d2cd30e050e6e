/* membw.c — the memory read bandwidth of this machine, measured: a streaming
 * sum over a buffer far larger than the CPU caches, on the thread pool, best
 * of five passes. Used by `still bench --membw` (decode efficiency), `still hw
 * --measure-membw` / `still fit --measure-membw` and the app, so the speed
 * estimates of the fit check use this machine's figure instead of an assumed
 * one (STILL_DEFAULT_CPU_BANDWIDTH_GBS). */
#include "still.h"

#include "cpu/threadpool.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

typedef struct {
  const uint64_t *buf;
  size_t n; /* uint64 words */
  uint64_t sums[STILL_MAX_THREADS];
} membw_job;

/* The streaming sum. Compiled for the widest vector ISA of the machine where
 * the compiler can (the loop is auto-vectorised), so the loads, not the
 * instruction count, are the limit. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3")))
#endif
static uint64_t stream_sum(const uint64_t *p, size_t n)
{
  /* independent accumulators: no add waits for the previous one */
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
    s4 += p[i + 4];
    s5 += p[i + 5];
    s6 += p[i + 6];
    s7 += p[i + 7];
  }
  return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
}

static void membw_sum(int ith, int nth, void *user)
{
  membw_job *j = user;
  int64_t b, e;
  still_split_range((int64_t)(j->n / 8), ith, nth, &b, &e);
  j->sums[ith] = stream_sum(j->buf + b * 8, (size_t)(e - b) * 8);
}

double still_measure_memory_bandwidth(int n_threads, uint64_t want_bytes, uint64_t *bytes_used)
{
  uint64_t unused;
  if (!bytes_used) bytes_used = &unused;
  if (want_bytes == 0) want_bytes = (uint64_t)1 << 30;
  if (n_threads <= 0) n_threads = still_cpu_physical_cores();
  size_t size = (size_t)want_bytes;
  *bytes_used = 0;
  void *mem = MAP_FAILED;
  while (size >= ((size_t)1 << 20)) {
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem != MAP_FAILED) break;
    size /= 2;
  }
  if (mem == MAP_FAILED) return 0;
  /* real pages with non-zero data (the zero page would read from cache) */
  uint64_t *words = mem;
  size_t n = size / sizeof *words;
  for (size_t i = 0; i < n; i++) words[i] = i * 0x9E3779B97F4A7C15ull;
  still_threadpool *tp = still_threadpool_new(n_threads);
  if (!tp) {
    munmap(mem, size);
    return 0;
  }
  membw_job *job = calloc(1, sizeof *job);
  double best = 0;
  if (job) {
    job->buf = words;
    job->n = n;
    for (int run = 0; run < 5; run++) {
      double t0 = still_time_s();
      still_threadpool_run(tp, membw_sum, job);
      double dt = still_time_s() - t0;
      double gbs = dt > 0 ? (double)size / dt / 1e9 : 0;
      if (gbs > best) best = gbs;
    }
    uint64_t total = 0;
    for (int i = 0; i < still_threadpool_n_threads(tp); i++) total += job->sums[i];
    if (total == 42) fputc(' ', stderr); /* keep the sums observable */
  }
  free(job);
  still_threadpool_free(tp);
  munmap(mem, size);
  *bytes_used = size;
  return best;
}
