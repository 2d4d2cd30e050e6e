/* cli-devices.c — `still devices [--json]`: the Vulkan devices the backend
 * can use, numbered as --device takes them. Software devices (lavapipe) are
 * marked CPU-emulated: the default choice skips them unless they are the
 * only device. */
#include "cli-common.h"
#include "hw.h"

#include "still.h"
#include "util.h"
#include "vulkan/device.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static const char devices_usage[] =
  "Usage: still devices [--json]\n"
  "\n"
  "List the Vulkan devices (the index is what --device takes) and their memory\n"
  "heaps: device-local (the GPU's own memory) or system memory, with what the driver\n"
  "says a program may use of each now, where it says (VK_EXT_memory_budget).\n"
  "\n"
  "Options:\n"
  "  --json      print JSON instead of a table\n"
  "  -h, --help  show this help\n";

static const char *kind_name(still_gpu_kind k)
{
  switch (k) {
  case STILL_GPU_DISCRETE: return "discrete";
  case STILL_GPU_INTEGRATED: return "integrated";
  case STILL_GPU_VIRTUAL: return "virtual";
  case STILL_GPU_CPU: return "cpu";
  default: return "other";
  }
}

int still_cmd_devices(int argc, char **argv)
{
  bool json = false;
  const cli_option opts[] = {{.long_name = "--json", .kind = CLI_OPT_FLAG, .flag = &json}};
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, 1, devices_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  const char *extra = n_pos ? pos[0] : NULL;
  free(pos);
  if (extra) return cli_fail("unexpected argument '%.60s' (see 'still devices --help')", extra);

  still_gpu gpus[16];
  bool vulkan_ok = false;
  char note[512];
  int n = still_vk_enumerate(gpus, 16, &vulkan_ok, note, sizeof note);
  if (json) {
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "devices") : NULL;
    if (!arr) {
      cJSON_Delete(root);
      return cli_fail("out of memory");
    }
    cJSON_AddBoolToObject(root, "vulkan", vulkan_ok);
    cJSON_AddStringToObject(root, "note", note);
    for (int i = 0; i < n; i++) {
      cJSON *o = cJSON_CreateObject();
      if (!o) break;
      cJSON_AddItemToArray(arr, o);
      cJSON_AddNumberToObject(o, "index", i);
      cJSON_AddStringToObject(o, "name", gpus[i].name);
      cJSON_AddStringToObject(o, "kind", kind_name(gpus[i].kind));
      cJSON_AddBoolToObject(o, "cpu_emulated", gpus[i].cpu_emulated);
      cJSON_AddStringToObject(o, "api_version", gpus[i].api_version);
      cli_json_add_u64(o, "total_bytes", gpus[i].total_bytes);
      cli_json_add_u64(o, "free_bytes", gpus[i].free_bytes);
      cJSON_AddBoolToObject(o, "free_known", gpus[i].free_known);
      cJSON_AddBoolToObject(o, "matrix_cores", gpus[i].matrix_cores);
      cJSON_AddStringToObject(o, "int8_dot", still_int8_dot_name(gpus[i].int8_dot));
      cli_json_add_u64(o, "max_buffer_bytes", gpus[i].max_buffer_bytes);
      /* its deviceUUID as --device takes it ("uuid:…"), null when the driver gives none */
      char uuid[48];
      if (still_gpu_uuid_string(&gpus[i], uuid, sizeof uuid) > 0) cJSON_AddStringToObject(o, "uuid", uuid);
      else cJSON_AddNullToObject(o, "uuid");
      /* another listing of an earlier entry's GPU (same deviceUUID), else null */
      if (gpus[i].duplicate) cJSON_AddNumberToObject(o, "same_gpu_as", gpus[i].duplicate_of);
      else cJSON_AddNullToObject(o, "same_gpu_as");
      cJSON *heaps = cJSON_AddArrayToObject(o, "heaps");
      for (uint32_t h = 0; heaps && h < gpus[i].n_heaps; h++) {
        const still_gpu_heap *hp = &gpus[i].heaps[h];
        cJSON *ho = cJSON_CreateObject();
        if (!ho) break;
        cJSON_AddItemToArray(heaps, ho);
        cli_json_add_u64(ho, "size_bytes", hp->size_bytes);
        cJSON_AddBoolToObject(ho, "device_local", hp->device_local);
        cJSON_AddBoolToObject(ho, "host_visible", hp->host_visible);
        /* null where the driver has no memory budget */
        if (gpus[i].free_known) {
          cli_json_add_u64(ho, "budget_bytes", hp->budget_bytes);
          cli_json_add_u64(ho, "used_bytes", hp->used_bytes);
        } else {
          cJSON_AddNullToObject(ho, "budget_bytes");
          cJSON_AddNullToObject(ho, "used_bytes");
        }
      }
    }
    bool ok = cli_json_print(root);
    cJSON_Delete(root);
    return ok ? 0 : cli_fail("out of memory");
  }
  if (n == 0) {
    printf("no Vulkan device%s%s\n", note[0] ? ": " : "", note);
    return 0;
  }
  for (int i = 0; i < n; i++) {
    char total[32];
    still_format_bytes(gpus[i].total_bytes, total, sizeof total);
    printf("Vulkan%d  %s  (%s%s, Vulkan %s, %s%s%s%s)\n", i, gpus[i].name, kind_name(gpus[i].kind),
           gpus[i].cpu_emulated ? ", CPU-emulated" : "", gpus[i].api_version, total,
           gpus[i].matrix_cores ? ", matrix cores: NV_coopmat" : "",
           gpus[i].int8_dot ? ", int8 dot products: " : "",
           gpus[i].int8_dot ? still_int8_dot_name(gpus[i].int8_dot) : "");
    if (gpus[i].duplicate)
      printf("          the same GPU as Vulkan%d, listed again (another driver or ICD file): not counted twice\n",
             (int)gpus[i].duplicate_of);
    /* the heaps: where the driver puts what (VRAM, a BAR window the CPU can write, system RAM) */
    for (uint32_t h = 0; h < gpus[i].n_heaps; h++) {
      const still_gpu_heap *hp = &gpus[i].heaps[h];
      char size[32], used[32], budget[32];
      still_format_bytes(hp->size_bytes, size, sizeof size);
      printf("          heap %u: %s, %s%s", h, size,
             hp->device_local ? "device-local" : "system memory",
             hp->host_visible && hp->device_local ? ", mappable by the CPU" : "");
      if (gpus[i].free_known) {
        /* the budget already allows for other programs; the use is this one's */
        still_format_bytes(hp->used_bytes, used, sizeof used);
        still_format_bytes(hp->budget_bytes, budget, sizeof budget);
        printf(", %s available to a program (this one uses %s)", budget, used);
      }
      printf("\n");
    }
  }
  if (note[0]) printf("note: %s\n", note);
  return 0;
}
