/* gpu-split.c — shares of a --split list and the layer ranges they give
 * (see gpu-split.h). */
#include "gpu-split.h"

#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

still_status still_gpu_split_parse(const char *text, double *shares, int cap, int *n, still_error *err)
{
  *n = 0;
  if (!text || !*text) return STILL_OK;
  double total = 0;
  int count = 0;
  for (const char *p = text;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len && *p == ' ') p++, len--;
    while (len && p[len - 1] == ' ') len--;
    char item[64];
    if (count >= cap || len == 0)
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "the split \"%.60s\" is not a comma-separated list of at most %d numbers", text, cap);
    if (len >= sizeof item)
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "the split \"%.60s\": an item of %zu characters is not a share (a number, 0 or more)",
                             text, len);
    memcpy(item, p, len);
    item[len] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(item, &end);
    if (errno || end == item || *end || !(v >= 0) || v > 1e9)
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "the split \"%.60s\": \"%s\" is not a share (a number, 0 or more)", text, item);
    shares[count++] = v;
    total += v;
    if (!comma) break;
    p = comma + 1;
  }
  if (!(total > 0))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "the split \"%.60s\" gives no layers to any device", text);
  *n = count;
  return STILL_OK;
}

still_status still_gpu_device_list_parse(const char *text, char items[][STILL_GPU_DEVICE_TEXT], int cap, int *n,
                                         still_error *err)
{
  *n = 0;
  if (!text || !*text) return STILL_OK;
  int count = 0;
  for (const char *p = text;;) {
    /* the next comma outside parentheses */
    const char *e = p;
    for (int depth = 0; *e && (*e != ',' || depth > 0); e++)
      depth += *e == '(' ? 1 : *e == ')' && depth > 0 ? -1 : 0;
    size_t len = (size_t)(e - p);
    while (len && *p == ' ') p++, len--;
    while (len && p[len - 1] == ' ') len--;
    if (len == 0)
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "the device list \"%.80s\" has an empty item: name devices by index, name or uuid, "
                             "separated by commas (e.g. 0,1)",
                             text);
    if (count >= cap)
      return still_set_error(err, STILL_ERR_INVALID_ARG, "the device list \"%.80s\" names more than %d devices", text,
                             cap);
    if (len >= STILL_GPU_DEVICE_TEXT)
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "the device \"%.40s…\" is %zu bytes long: no device name is longer than %d", p, len,
                             STILL_GPU_DEVICE_TEXT - 1);
    memcpy(items[count], p, len);
    items[count++][len] = '\0';
    if (!*e) break;
    p = e + 1;
  }
  *n = count;
  return STILL_OK;
}

still_status still_gpu_split_check(const char *device, const char *split, char items[][STILL_GPU_DEVICE_TEXT],
                                   int *n_items, double *shares, int *n_shares, still_error *err)
{
  char own_items[STILL_GPU_SPLIT_MAX][STILL_GPU_DEVICE_TEXT];
  double own_shares[STILL_GPU_SPLIT_MAX];
  int nd = 0, ns = 0;
  still_status st = still_gpu_device_list_parse(device, items ? items : own_items, STILL_GPU_SPLIT_MAX, &nd, err);
  if (st == STILL_OK) st = still_gpu_split_parse(split, shares ? shares : own_shares, STILL_GPU_SPLIT_MAX, &ns, err);
  if (st != STILL_OK) return st;
  if (n_items) *n_items = nd;
  if (n_shares) *n_shares = ns;
  if (ns > 0 && nd > 1 && nd != ns)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "%d devices but %d shares in the split \"%.60s\"", nd, ns,
                           split);
  if (ns > 1 && nd == 1) /* one device named, several shares */
    return still_set_error(err, STILL_ERR_INVALID_ARG,
                           "the split \"%.60s\" has %d shares: name as many devices with --device (e.g. 0,1)", split,
                           ns);
  return STILL_OK;
}

int still_gpu_split_bounds(const double *shares, int n, int first_layer, int n_layer, int *bounds)
{
  const int n_gpu = n_layer - first_layer;
  double total = 0, cum = 0;
  for (int i = 0; i < n; i++) total += shares[i];
  if (!(total > 0)) total = 1; /* no share above 0 (the parser refuses that): every bound at first_layer */
  int last_used = -1;
  bounds[0] = first_layer;
  for (int i = 0; i < n; i++) {
    cum += shares[i];
    bounds[i + 1] = i == n - 1 ? n_layer : first_layer + (int)floor(n_gpu * cum / total + 0.5);
    if (bounds[i + 1] > bounds[i] || (n_gpu == 0 && shares[i] > 0)) last_used = i;
  }
  return last_used;
}

int still_gpu_split_devices(const still_gpu *gpus, int n, const double *shares, int *n_shares, int *usable)
{
  int nu = 0;
  for (int i = 0; i < n; i++)
    if (!gpus[i].cpu_emulated && !gpus[i].duplicate) usable[nu++] = i; /* a card two drivers list: once */
  if (nu == 0)
    for (int i = 0; i < n; i++) usable[nu++] = i;
  while (*n_shares > nu && *n_shares > 1 && shares[*n_shares - 1] == 0) (*n_shares)--;
  return nu;
}

int still_gpu_split_listed_again(const still_gpu *gpus, int n)
{
  int again = 0;
  for (int i = 0; i < n; i++) again += gpus[i].duplicate && !gpus[i].cpu_emulated;
  return again;
}
