/* vulkan/vk-membw.c — a GPU's memory read bandwidth, measured
 * (still_measure_gpu_bandwidth in still.h): what `still bench --membw`
 * compares a GPU decode against, as membw.c's figure for the CPU. The
 * decode of a model reads its weights from the device's memory once per
 * token, so its speed limit is this bandwidth; vendors' spec sheets give the
 * interface's peak, which streaming shaders reach to within 5–20 %.
 *
 * One buffer in device-local memory is first written (membw.comp -DFILL:
 * fresh allocations may not be backed by real memory yet, as lavapipe's
 * untouched pages are not), then read by membw.comp -DREAD, R dispatches
 * per submit with R chosen so that a submit takes about 20 ms (the host's
 * submit and wait then cost well under 1 %), best of five submits. The
 * reads' XOR per workgroup must come out as the pattern's: a figure from
 * reads that did not happen is an error, not a speed. */
#include "still.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef STILL_HAVE_VULKAN

double still_measure_gpu_bandwidth(const char *device, uint64_t bytes, uint64_t *bytes_used, char *name,
                                   size_t name_size, still_error *err)
{
  (void)device, (void)bytes;
  if (bytes_used) *bytes_used = 0;
  if (name && name_size) name[0] = '\0';
  still_set_error(err, STILL_ERR_UNSUPPORTED, "built without Vulkan: no GPU to measure");
  return 0;
}

#else

#include "vulkan/vk-internal.h"
#include "vulkan/vk.h"

#define MEMBW_DEFAULT ((uint64_t)1 << 30)
#define MEMBW_LEAST ((uint64_t)256 << 20) /* halved no further: an H200's L2 holds 50 MB */
#define MEMBW_PASS_US 20000 /* a submit of about this long */
#define MEMBW_MAX_REPS 256

/* The XOR of all 32-bit values membw.comp -DFILL writes to words [0, n). */
static uint32_t pattern_xor(uint32_t n)
{
  uint32_t x = 0;
  for (uint32_t i = 0; i < n; i++)
    x ^= (uint32_t)(i * 2654435761u) ^ (uint32_t)((i ^ 0x5bd1e995u) * 0x85ebca6bu) ^
         (uint32_t)((i >> 3) * 0xc2b2ae35u + 1u) ^ (~i ^ (uint32_t)(i << 7));
  return x;
}

/* One submit of reps reads of the whole buffer; its wall time in µs (0: failed). */
static int64_t read_pass(still_vk *vk, const still_vk_buffer *buf, still_vk_buffer *out, uint32_t words,
                         uint32_t groups, int reps, still_error *err)
{
  const uint32_t push[2] = {words, groups * vk->wg_size};
  const still_vk_buffer *bufs[2] = {buf, out};
  if (still_vk_begin(vk, err) != STILL_OK) return 0;
  for (int i = 0; i < reps; i++) {
    /* no barrier between the reads: they may overlap, as a stream of
     * independent reads would (each writes the same per-workgroup values to
     * out, so the overlap cannot change them) */
    if (i > 0) still_vk_concurrent_next(vk);
    if (still_vk_dispatch(vk, VK_SHADER_MEMBW_READ, bufs, 2, push, sizeof push, groups, 1, 1, err) != STILL_OK) {
      still_error e2 = {0};
      still_vk_submit(vk, &e2);
      return 0;
    }
  }
  const int64_t t0 = still_time_us();
  if (still_vk_submit(vk, err) != STILL_OK) return 0;
  const int64_t dt = still_time_us() - t0;
  return dt > 0 ? dt : 1;
}

double still_measure_gpu_bandwidth(const char *device, uint64_t bytes, uint64_t *bytes_used, char *name,
                                   size_t name_size, still_error *err)
{
  if (bytes_used) *bytes_used = 0;
  if (name && name_size) name[0] = '\0';
  still_vk_params vp = {.device = device};
  still_vk *vk = NULL;
  if (still_vk_open(&vp, &vk, err) != STILL_OK) return 0;
  if (name && name_size) snprintf(name, name_size, "%s", still_vk_device_name(vk));

  /* the buffer: asked size, within half the largest device-local heap and
   * one binding's range (at most 4 GiB - 1: words < 2^28, so the shader's
   * 32-bit word index cannot wrap) */
  uint64_t size = bytes ? bytes : MEMBW_DEFAULT, heap = 0;
  for (uint32_t i = 0; i < vk->mem.memoryHeapCount; i++)
    if ((vk->mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && vk->mem.memoryHeaps[i].size > heap)
      heap = vk->mem.memoryHeaps[i].size;
  if (heap && size > heap / 2) size = heap / 2;
  const uint64_t range = vk->props.limits.maxStorageBufferRange;
  if (size > range) size = range;
  if (size < 4096) size = 4096;
  size &= ~(uint64_t)15;
  const uint64_t least = size < MEMBW_LEAST ? size : MEMBW_LEAST;
  still_vk_buffer buf = {0}, out = {0};
  still_status st;
  for (;;) {
    still_error e = {0};
    st = still_vk_buffer_new(vk, (size_t)size, &buf, &e);
    if (st == STILL_OK) break;
    if (st != STILL_ERR_NOMEM || size / 2 < least) {
      if (err) *err = e;
      break;
    }
    size = (size / 2) & ~(uint64_t)15;
  }
  double best_gbs = 0;
  const uint32_t words = (uint32_t)(size / 16);
  /* enough threads to keep every memory channel busy, each with several words to read */
  uint64_t groups = (uint64_t)words / ((uint64_t)vk->wg_size * 8);
  if (groups < 1) groups = 1;
  if (groups > 65535) groups = 65535;
  if (st == STILL_OK) st = still_vk_buffer_new(vk, 4 * (size_t)groups, &out, err);
  uint32_t *o = st == STILL_OK ? calloc((size_t)groups, 4) : NULL;
  if (st == STILL_OK && !o) st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  /* out starts cleared: a read that wrote nothing leaves zeros, not an earlier buffer's values */
  if (st == STILL_OK) st = still_vk_upload(vk, &out, 0, o, 4 * (size_t)groups, err);
  if (st == STILL_OK) {
    const uint32_t push[2] = {words, (uint32_t)groups * vk->wg_size};
    const still_vk_buffer *bufs[2] = {&buf, &out};
    st = still_vk_begin(vk, err);
    if (st == STILL_OK)
      st = still_vk_dispatch(vk, VK_SHADER_MEMBW_FILL, bufs, 2, push, sizeof push, (uint32_t)groups, 1, 1, err);
    if (st == STILL_OK) st = still_vk_submit(vk, err);
    /* one read to warm up and size the passes */
    int64_t us = st == STILL_OK ? read_pass(vk, &buf, &out, words, (uint32_t)groups, 1, err) : 0;
    int reps = us > 0 ? (int)(MEMBW_PASS_US / us) + 1 : 0;
    if (reps > MEMBW_MAX_REPS) reps = MEMBW_MAX_REPS;
    for (int pass = 0; us > 0 && pass < 5; pass++) {
      us = read_pass(vk, &buf, &out, words, (uint32_t)groups, reps, err);
      const double gbs = us > 0 ? (double)size * reps / ((double)us * 1e3) : 0;
      if (gbs > best_gbs) best_gbs = gbs;
    }
    if (us <= 0) best_gbs = 0;
    /* the reads read the pattern */
    if (best_gbs > 0 && still_vk_download(vk, &out, 0, o, 4 * (size_t)groups, err) != STILL_OK) best_gbs = 0;
    if (best_gbs > 0) {
      uint32_t x = 0;
      for (uint64_t g = 0; g < groups; g++) x ^= o[g];
      if (x != pattern_xor(words)) {
        still_set_error(err, STILL_ERR_BACKEND, "Vulkan: the bandwidth test on %s read wrong data",
                        still_vk_device_name(vk));
        best_gbs = 0;
      }
    }
  }
  free(o);
  still_vk_buffer_free(vk, &out);
  still_vk_buffer_free(vk, &buf);
  still_vk_close(vk);
  if (best_gbs > 0 && bytes_used) *bytes_used = size;
  if (best_gbs <= 0 && err && !err->message[0])
    still_set_error(err, STILL_ERR_BACKEND, "Vulkan: the bandwidth test did not run");
  return best_gbs;
}

#endif /* STILL_HAVE_VULKAN */
