/* vulkan/device.h — Vulkan device enumeration for the hardware probe:
 * names, kinds, device-local memory and (with VK_EXT_memory_budget) how
 * much of it is free. Built without Vulkan (no STILL_HAVE_VULKAN) it lists
 * no devices and says so.
 */
#ifndef STILL_VULKAN_DEVICE_H
#define STILL_VULKAN_DEVICE_H

#include "still.h"

#include <stdbool.h>
#include <stddef.h>

/* Fill gpus[0..cap) with the physical devices (Vulkan order) and return
 * how many. *vulkan_ok: an instance could be created. note (may be NULL)
 * receives why none is listed, or a caveat ("free memory unknown for X:
 * only totals are known"), or "" when there is nothing to say. Bandwidth
 * fields are left for the caller. Never fails: no Vulkan means 0 devices. */
int still_vk_enumerate(still_gpu *gpus, int cap, bool *vulkan_ok, char *note, size_t note_size);

#endif /* STILL_VULKAN_DEVICE_H */
