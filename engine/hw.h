/* hw.h — the hardware probe (still_hardware_probe in still.h) and its
 * parsers, exposed for tests.
 *
 * Every file is read under a root folder ("" for this machine) so tests can
 * point the probe at a fake /proc and /sys tree.
 */
#ifndef STILL_HW_H
#define STILL_HW_H

#include "still.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t mem_total, mem_free, mem_available, swap_total, swap_free;
  bool has_total, has_available;
} still_meminfo;

/* Parse /proc/meminfo text ("MemTotal:  16314000 kB" lines). False when
 * MemTotal is missing. Without MemAvailable (kernels before 3.14) it is
 * estimated as MemFree + Buffers + Cached. */
bool still_hw_parse_meminfo(const char *text, still_meminfo *out);

/* Parse the contents of a cgroup memory file: v2 memory.max / memory.current
 * ("max" = no limit) or v1 memory.limit_in_bytes / usage_in_bytes (values of
 * 2^62 and more mean no limit). False when the text is neither. */
bool still_hw_parse_cgroup_value(const char *text, uint64_t *out, bool *unlimited);

/* A counter from a cgroup memory.stat ("inactive_file 1234" lines); false if absent. */
bool still_hw_parse_memory_stat(const char *text, const char *key, uint64_t *out);

/* The cgroup of this process from /proc/self/cgroup text: with v2 the path of
 * the "0::PATH" line, else the path of the v1 line whose controllers include
 * "memory". False when there is none. */
bool still_hw_cgroup_path(const char *proc_self_cgroup, bool v2, char *out, size_t size);

/* Room left under a cgroup limit: max − (current − reclaimable), 0 when over. */
uint64_t still_hw_cgroup_room(uint64_t max, uint64_t current, uint64_t reclaimable);

/* Fill the memory part of hw (ram_*, swap_*, cgroup_*) from files under root. */
void still_hw_probe_memory(const char *root, still_hardware *hw);

/* Fill the CPU part (name from root/proc/cpuinfo, cores, threads, flags). */
void still_hw_probe_cpu(const char *root, still_hardware *hw);

/* Free bytes for an unprivileged user at dir, or at its nearest existing
 * parent when dir does not exist yet. False when nothing could be asked. */
bool still_hw_disk_free(const char *dir, uint64_t *out);

/* Memory bandwidth of a GPU in GB/s from a table of known cards, else a
 * conservative default for its kind (*known false). An entry matches as a
 * case-insensitive substring of name at word boundaries (no letter or digit
 * right before or after: "RTX A1000" is not "A100"); the longest entry wins.
 * A laptop/mobile name ("... Laptop GPU", "Mobile", "Max-Q", AMD's "RX 7600M",
 * "RX 6800S") takes only laptop/mobile entries, and its unknown-card default
 * is lower than a desktop card's (192 GB/s against 250). */
double still_gpu_bandwidth_gbs(const char *name, still_gpu_kind kind, bool *known);

const char *still_gpu_kind_name(still_gpu_kind k); /* "discrete", "integrated", "virtual", "cpu", "other" */
const char *still_int8_dot_name(uint8_t v);        /* still_gpu.int8_dot: "hardware", "emulated", "none" */

#endif /* STILL_HW_H */
