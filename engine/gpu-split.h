/* gpu-split.h — how `--split A,B,...` (still_session_params.split) turns into
 * layer ranges per device. One place for the rule, used by the Vulkan
 * backend when it places the layers (vulkan/vk-forward.c) and by the fit
 * estimator when it predicts that placement (fit.c), so the two always agree.
 */
#ifndef STILL_GPU_SPLIT_H
#define STILL_GPU_SPLIT_H

#include "still.h"

/* Most shares a split may have (one per device). */
#define STILL_GPU_SPLIT_MAX 8

/* Parse a comma-separated list of shares ("3,1", spaces around items
 * allowed): each a number >= 0 and <= 1e9, at most cap of them, not all 0.
 * *n: how many (0 for NULL or ""). Errors in plain words, naming the text. */
still_status still_gpu_split_parse(const char *text, double *shares, int cap, int *n, still_error *err);

/* Room for one device of a --device list (an index, a name as Vulkan gives
 * it, at most 255 bytes, or uuid:HEX), with its '\0'. */
#define STILL_GPU_DEVICE_TEXT 256

/* Parse --device's list ("0,1", "llvmpipe,1"): items separated by commas
 * outside parentheses, so that a name as `still devices` prints it
 * ("llvmpipe (LLVM 15.0.6, 256 bits)") is one device; spaces around items
 * trimmed; none empty, at most cap of them. *n: how many (0 for NULL or "").
 * Errors in plain words, naming the text. */
still_status still_gpu_device_list_parse(const char *text, char items[][STILL_GPU_DEVICE_TEXT], int cap, int *n,
                                         still_error *err);

/* --device and --split together, before any device is opened: both lists
 * well formed, and as many devices named as the split has shares where
 * both have several (one device and several shares: a device per share is
 * needed). The CLI says these at once; the session says them in its
 * offload line. The parsed lists into items/n_items and shares/n_shares
 * (room for STILL_GPU_SPLIT_MAX each), where those are not NULL. */
still_status still_gpu_split_check(const char *device, const char *split, char items[][STILL_GPU_DEVICE_TEXT],
                                   int *n_items, double *shares, int *n_shares, still_error *err);

/* Cut the GPU layers [first_layer, n_layer) into consecutive runs by
 * cumulative share, like llama.cpp's --tensor-split by layers: device i
 * takes [bounds[i], bounds[i+1]) with bounds[0] = first_layer,
 * bounds[i+1] = first_layer + floor(n_gpu · (s_0 + … + s_i) / S + 0.5) and
 * the last bound n_layer (n_gpu = n_layer − first_layer, S the sum of the
 * n shares). bounds has room for n + 1 entries. Returns the device that
 * holds the output layer: the last one with layers (when there are no GPU
 * layers, the last with a share above 0); -1 when none. */
int still_gpu_split_bounds(const double *shares, int n, int first_layer, int n_layer, int *bounds);

/* The devices a split takes when none is named, as indices into gpus (n of
 * them, in Vulkan order) written to usable (room for n): the real GPUs, each
 * card once where two drivers list it (the later entry is a duplicate), or
 * else the CPU-emulated ones, every entry (the tests split over lavapipe
 * listed twice). Shares of nothing at the end
 * beyond those devices need none of their own ("1,0" on one GPU): *n_shares
 * drops them. Returns how many devices usable lists; the split needs
 * *n_shares of them. */
int still_gpu_split_devices(const still_gpu *gpus, int n, const double *shares, int *n_shares, int *usable);
/* How many real GPUs of gpus[0..n) are a card listed again (a split by
 * itself does not take them; the messages say so). */
int still_gpu_split_listed_again(const still_gpu *gpus, int n);

#endif /* STILL_GPU_SPLIT_H */
