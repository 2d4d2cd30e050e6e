/* cli-fit.c — `still fit`, `still hw`, `still recommend`.
 *
 * `still fit --json` prints one object; keys are stable (new ones may be added):
 *   file            string  the path given (-m or --header-bytes)
 *   verdict         string  "gpu" (every layer on the GPU), "partial", "cpu" or "no"
 *   message         string  the verdict in plain words
 *   n_layers        number  transformer blocks
 *   gpu_layers      number  blocks on the GPU(s) (the output layer goes with the last one)
 *   gpu_layers_per  array   blocks per GPU (same order as `still hw`)
 *   output_on_gpu   bool
 *   n_ctx           number  context estimated for
 *   n_ctx_train     number  trained context (null when the header does not say)
 *   kv_type         string  "f16", "f32", "q8_0"
 *   n_params        number  elements of all tensors
 *   n_vocab         number
 *   weights_bytes   number  all tensors of the file, wherever they go
 *   kv_bytes        number  KV cache at n_ctx
 *   compute_bytes   number  compute buffers (CPU + GPUs)
 *   overhead_bytes  number  runtime + per-GPU driver overhead
 *   total_bytes     number  memory needed (CPU + GPUs; embedding rows as resident, see engine/fit.c)
 *   cpu_bytes       number  of which in RAM
 *   gpu_bytes       array   of which on each GPU
 *   ram_free        number  free RAM considered (unified: the shared pool)
 *   gpu_free        number  free GPU memory considered, all GPUs
 *   max_ctx_gpu     number  largest context (multiple of 256, <= trained) that runs fully on the GPU(s), 0: none
 *   tight           bool    runs fully on the GPU only with under half the trained context
 *   tok_s_estimate  number  decode speed estimate (tokens/s; 0 when it does not fit)
 *   estimate_note   string  how the speed was estimated
 *   split           string  the --split given (null: none)
 *   devices         array   one object per GPU of the placement, in layer order:
 *                           {device ("Vulkan1"), index (as in `still hw`), name,
 *                           first_layer, n_layers, output (bool: holds the output
 *                           layer), weights_bytes, kv_bytes, compute_bytes,
 *                           overhead_bytes, total_bytes, free_bytes, usable_bytes
 *                           (free minus the safety margin), fits}
 *   suggested_split       string  a given placement that does not fit: a split of the
 *                                 same layers that does (null: none, or not asked)
 *   suggested_gpu_layers  number  ... and the most GPU layers that fit with the given
 *                                 split (null: none, or not asked)
 *
 * With --split A,B[,...] and/or -ngl N, `still fit` estimates the placement
 * `still run` makes with the same options (the same layer ranges: see
 * engine/gpu-split.h) instead of the best one: verdict "no" when a GPU or the
 * RAM overflows, and the message names it ("Vulkan1 needs 9.3 GB but has
 * 8.0 GB free: move layers to the other GPUs with --split 30,18, or use fewer
 * GPU layers (-ngl 40)").
 *
 * `still hw --json`: ram_total, ram_available, ram_free, swap_total, swap_free,
 * cgroup_limited, cgroup_max, cgroup_current (null without a limit), cpu_name,
 * cpu_cores, cpu_threads, avx2, avx512, vnni, cpu_features, cpu_bandwidth_gbs,
 * cpu_bandwidth_measured, models_dir, disk_free (null when unknown), vulkan, gpu_note,
 * gpus: [{name, kind ("discrete", "integrated", "virtual", "cpu", "other"),
 * cpu_emulated, unified, vendor_id, device_id, api_version, total_bytes,
 * free_bytes, free_known, bandwidth_gbs, bandwidth_known, bandwidth_measured, max_buffer_bytes, matrix_cores}].
 *
 * `still recommend --json`: found, n_ctx, reason, pick and runner_up (null
 * when none): {model_id, model_name, quant, quality, file_bytes, verdict,
 * gpu_layers, n_layers, total_bytes, max_ctx_gpu, tok_s_estimate, message}.
 *
 * Machine overrides (fit, recommend) simulate another machine: --vram-free
 * SIZE[,SIZE…] one free size per GPU (0 = no GPU; the GPUs are then not
 * probed), --unified (the GPU shares the RAM: one pool; without --ram-free
 * the pool is the --vram-free size), --ram-free SIZE, --membw GBPS (CPU RAM
 * bandwidth; a --unified GPU's too without --gpu-bw), --gpu-bw GBPS
 * (bandwidth of the simulated GPUs).
 */
#include "cli-common.h"

#include "cpu/cpu-features.h"
#include "fit.h"
#include "gguf.h"
#include "hw.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char estimate_note[] =
  "speed is a rough estimate from memory bandwidth (weights read per token), not a measurement";

/* ---- machine overrides ------------------------------------------------------------ */

typedef struct {
  const char *vram_free;
  const char *ram_free;
  const char *membw;
  const char *gpu_bw;
  bool unified;
} machine_opts;

static bool parse_gbps(const char *text, const char *opt, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end || !(v > 0) || v > 1e6) {
    cli_fail("%s needs a bandwidth in GB/s such as 40 or 936.5, not '%s'", opt, text);
    return false;
  }
  *out = v;
  return true;
}

/* Probe (or simulate) the machine. Returns false after printing an error. */
static bool get_machine(const machine_opts *o, still_hardware *hw)
{
  double membw = 0, gpubw = 0;
  if (o->membw && strcmp(o->membw, "measure") == 0) {
    fprintf(stderr, "measuring the memory bandwidth…\n");
    membw = still_measure_memory_bandwidth(0, 0, NULL);
    if (!(membw > 0)) {
      cli_fail("could not measure the memory bandwidth (not enough memory for the test buffer?)");
      return false;
    }
  } else if (o->membw && !parse_gbps(o->membw, "--membw", &membw)) {
    return false;
  }
  if (o->gpu_bw && !parse_gbps(o->gpu_bw, "--gpu-bw", &gpubw)) return false;
  uint64_t ram = 0;
  char why[256];
  if (o->ram_free && !cli_parse_size(o->ram_free, &ram, why, sizeof why)) {
    cli_fail("--ram-free: %s", why);
    return false;
  }

  uint64_t vram[STILL_MAX_GPUS] = {0};
  int n_vram = 0;
  if (o->vram_free) {
    const char *p = o->vram_free;
    for (;;) {
      const char *comma = strchr(p, ',');
      size_t len = comma ? (size_t)(comma - p) : strlen(p);
      char item[64];
      if (len == 0 || len >= sizeof item) {
        cli_fail("--vram-free needs sizes separated by commas, such as 24G or 8G,8G");
        return false;
      }
      if (n_vram == STILL_MAX_GPUS) {
        cli_fail("--vram-free: at most %d GPUs", STILL_MAX_GPUS);
        return false;
      }
      memcpy(item, p, len);
      item[len] = '\0';
      if (!cli_parse_size(item, &vram[n_vram], why, sizeof why)) {
        cli_fail("--vram-free: %s", why);
        return false;
      }
      n_vram++;
      if (!comma) break;
      p = comma + 1;
    }
    /* "0" alone (or only zeros): no GPU */
    int nz = 0;
    for (int i = 0; i < n_vram; i++)
      if (vram[i] > 0) vram[nz++] = vram[i];
    n_vram = nz;
    if (o->unified && n_vram > 1) {
      cli_fail("--unified describes one GPU that shares the RAM: give one --vram-free size");
      return false;
    }
  }

  if (o->vram_free || o->unified) {
    /* simulated GPUs; this machine's RAM and CPU unless overridden */
    still_hardware probed;
    memset(&probed, 0, sizeof probed);
    still_hw_probe_memory("", &probed);
    still_hw_probe_cpu("", &probed);
    if (!o->ram_free) ram = o->unified ? 0 : probed.ram_free;
    if (o->unified && !o->vram_free) {
      vram[0] = o->ram_free ? ram : probed.ram_free;
      n_vram = 1;
    }
    still_hardware_simulated(hw, ram, n_vram, vram, o->unified, gpubw, membw > 0 ? membw : probed.cpu_bandwidth_gbs);
    snprintf(hw->cpu_name, sizeof hw->cpu_name, "%s", probed.cpu_name);
    hw->cpu_cores = probed.cpu_cores;
    hw->cpu_threads = probed.cpu_threads;
    hw->avx2 = probed.avx2;
    hw->avx512 = probed.avx512;
    hw->vnni = probed.vnni;
    if (!o->ram_free && !o->unified) {
      hw->ram_total = probed.ram_total;
      hw->ram_available = probed.ram_available;
    }
    hw->cpu_bandwidth_measured = membw > 0;
    /* a simulated iGPU without --gpu-bw reads the RAM at --membw's figure too */
    if (membw > 0 && gpubw <= 0) still_hardware_set_memory_bandwidth(hw, membw);
    return true;
  }
  still_error err = {0};
  if (still_hardware_probe(hw, NULL, &err) != STILL_OK) {
    cli_fail("%s", err.message);
    return false;
  }
  if (o->ram_free) hw->ram_total = hw->ram_available = hw->ram_free = ram;
  /* (the GPUs that read the same memory too: lavapipe, an iGPU not in the table) */
  if (membw > 0) still_hardware_set_memory_bandwidth(hw, membw);
  return true;
}

#define MACHINE_OPTIONS(mo)                                                                        \
  {.long_name = "--vram-free", .kind = CLI_OPT_VALUE, .value = &(mo).vram_free},                   \
    {.long_name = "--ram-free", .kind = CLI_OPT_VALUE, .value = &(mo).ram_free},                   \
    {.long_name = "--membw", .kind = CLI_OPT_VALUE, .value = &(mo).membw},                         \
    {.long_name = "--gpu-bw", .kind = CLI_OPT_VALUE, .value = &(mo).gpu_bw},                       \
    {.long_name = "--unified", .kind = CLI_OPT_FLAG, .flag = &(mo).unified}

#define MACHINE_USAGE                                                                                   \
  "Simulate another machine (defaults: this one):\n"                                                   \
  "  --vram-free SIZE[,SIZE...]  free memory of each GPU (24G, 8G,8G; 0 = no GPU)\n"                   \
  "  --unified               the GPU shares the RAM (Apple silicon, iGPUs): one pool\n"                \
  "  --ram-free SIZE         free RAM\n"                                                               \
  "  --membw GBPS|measure    CPU memory bandwidth in GB/s, or measure it now (about a\n"                \
  "                          second, 1 GiB buffer); default: assumed 40. An iGPU\n"                  \
  "                          without --gpu-bw (or not in the table) reads at it too\n"               \
  "  --gpu-bw GBPS           memory bandwidth of the simulated GPUs in GB/s\n"

static const char *fmt(uint64_t b, char *buf)
{
  return still_format_bytes(b, buf, 32);
}

/* ---- still fit ---------------------------------------------------------------------- */

static const char fit_usage[] =
  "Usage: still fit (-m FILE | --header-bytes FILE...) [--ctx N] [--kv-type f16|f32|q8_0]\n"
  "                 [--split A,B[,...]] [-ngl N] [--vram-free SIZE[,SIZE...]] [--unified]\n"
  "                 [--ram-free SIZE] [--json]\n"
  "\n"
  "Estimate, from the GGUF header alone, whether a model runs fully on the GPU,\n"
  "partly, on the CPU only, or not at all, and how fast (a rough estimate).\n"
  "\n"
  "Options:\n"
  "  -m, --model FILE       a local GGUF file (only its header is read); for a split\n"
  "                         model (NAME-00001-of-0000N.gguf) the other parts beside it\n"
  "  --header-bytes FILE    a file holding only the first bytes of a GGUF file\n"
  "                         (header and tensor infos, e.g. from an HTTP Range request);\n"
  "                         repeat it once per part for a split model, in any order\n"
  "  --ctx N                context in tokens (default: min(trained, 4096))\n"
  "  --kv-type TYPE         KV cache type: f16 (default), f32, q8_0\n"
  "  --split A,B[,...]      estimate the layers spread over the GPUs in these\n"
  "                         proportions, as `still run --split` places them (one\n"
  "                         share per GPU: --vram-free's or this machine's)\n"
  "  -ngl, --gpu-layers N   estimate with the last N layers on the GPU(s) (-1: all;\n"
  "                         default: as many as fit, all with --split)\n"
  "  --json                 print JSON\n"
  MACHINE_USAGE
  "  -h, --help             show this help\n";

static int parse_ctx(const char *text, int32_t *out)
{
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v <= 0 || v > (1 << 24))
    return cli_fail("--ctx needs a positive number of tokens (at most 16777216), not '%s'", text);
  *out = (int32_t)v;
  return 0;
}

static const char *kv_name(still_kv_type t)
{
  return t == STILL_KV_F32 ? "f32" : t == STILL_KV_Q8_0 ? "q8_0" : "f16";
}

static cJSON *json_u64_array(const uint64_t *v, int n)
{
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
  return a;
}

static cJSON *devices_json(const still_fit *f, const still_hardware *hw)
{
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < f->n_devices; i++) {
    const still_fit_device *d = &f->devices[i];
    cJSON *x = cJSON_CreateObject();
    if (!x) break;
    char dev[32];
    snprintf(dev, sizeof dev, "Vulkan%d", d->gpu);
    cJSON_AddStringToObject(x, "device", dev);
    cJSON_AddNumberToObject(x, "index", d->gpu);
    const char *name = d->gpu >= 0 && d->gpu < hw->n_gpus ? hw->gpus[d->gpu].name : "";
    cli_json_add_strn(x, "name", name, strlen(name));
    cJSON_AddNumberToObject(x, "first_layer", d->first_layer);
    cJSON_AddNumberToObject(x, "n_layers", d->n_layers);
    cJSON_AddBoolToObject(x, "output", d->output);
    cli_json_add_u64(x, "weights_bytes", d->weights_bytes);
    cli_json_add_u64(x, "kv_bytes", d->kv_bytes);
    cli_json_add_u64(x, "compute_bytes", d->compute_bytes);
    cli_json_add_u64(x, "overhead_bytes", d->overhead_bytes);
    cli_json_add_u64(x, "total_bytes", d->total_bytes);
    cli_json_add_u64(x, "free_bytes", d->free_bytes);
    cli_json_add_u64(x, "usable_bytes", d->usable_bytes);
    cJSON_AddBoolToObject(x, "fits", d->fits);
    cJSON_AddItemToArray(a, x);
  }
  return a;
}

static int fit_json(const char *file, const still_fit *f, const still_hardware *hw, still_kv_type kv,
                    const char *split)
{
  cJSON *o = cJSON_CreateObject();
  if (!o) return cli_fail("out of memory");
  cJSON_AddStringToObject(o, "file", file);
  cJSON_AddStringToObject(o, "verdict", still_fit_verdict_name(f->verdict));
  cJSON_AddStringToObject(o, "message", f->message);
  cJSON_AddNumberToObject(o, "n_layers", f->n_layers);
  cJSON_AddNumberToObject(o, "gpu_layers", f->gpu_layers);
  cJSON *per = cJSON_AddArrayToObject(o, "gpu_layers_per");
  for (int i = 0; per && i < hw->n_gpus; i++) cJSON_AddItemToArray(per, cJSON_CreateNumber(f->gpu_layers_per[i]));
  cJSON_AddBoolToObject(o, "output_on_gpu", f->output_on_gpu);
  cJSON_AddNumberToObject(o, "n_ctx", f->n_ctx);
  cli_json_add_opt_u64(o, "n_ctx_train", f->n_ctx_train > 0, (uint64_t)f->n_ctx_train);
  cJSON_AddStringToObject(o, "kv_type", kv_name(kv));
  cli_json_add_u64(o, "n_params", f->n_params);
  cJSON_AddNumberToObject(o, "n_vocab", f->n_vocab);
  cli_json_add_u64(o, "weights_bytes", f->weights_bytes);
  cli_json_add_u64(o, "kv_bytes", f->kv_bytes);
  cli_json_add_u64(o, "compute_bytes", f->compute_bytes);
  cli_json_add_u64(o, "overhead_bytes", f->overhead_bytes);
  cli_json_add_u64(o, "total_bytes", f->total_bytes);
  cli_json_add_u64(o, "cpu_bytes", f->cpu_bytes);
  cJSON_AddItemToObject(o, "gpu_bytes", json_u64_array(f->gpu_bytes, hw->n_gpus));
  cli_json_add_u64(o, "ram_free", f->ram_free);
  cli_json_add_u64(o, "gpu_free", f->gpu_free);
  cJSON_AddNumberToObject(o, "max_ctx_gpu", f->max_ctx_gpu);
  cJSON_AddBoolToObject(o, "tight", f->tight);
  cJSON_AddNumberToObject(o, "tok_s_estimate", round(f->tok_s_estimate * 10.0) / 10.0);
  cJSON_AddStringToObject(o, "estimate_note", estimate_note);
  if (split) cJSON_AddStringToObject(o, "split", split);
  else cJSON_AddNullToObject(o, "split");
  cJSON_AddItemToObject(o, "devices", devices_json(f, hw));
  if (f->suggested_split[0]) cJSON_AddStringToObject(o, "suggested_split", f->suggested_split);
  else cJSON_AddNullToObject(o, "suggested_split");
  cli_json_add_opt_u64(o, "suggested_gpu_layers", f->suggested_gpu_layers >= 0, (uint64_t)f->suggested_gpu_layers);
  bool ok = cli_json_print(o);
  cJSON_Delete(o);
  return ok ? 0 : cli_fail("out of memory");
}

static int fit_human(const still_fit *f, const still_hardware *hw, still_kv_type kv)
{
  char a[32], b[32], c[32];
  printf("%s\n", f->message);
  printf("  context        %d tokens", f->n_ctx);
  if (f->n_ctx_train > 0) printf(" (trained: %d)", f->n_ctx_train);
  printf("\n");
  if (f->max_ctx_gpu > 0)
    printf("  GPU context    fully on the GPU up to %d tokens%s\n", f->max_ctx_gpu,
           f->tight ? " (tight: under half the trained context)" : "");
  else if (hw->n_gpus > 0)
    printf("  GPU context    no context fits fully on the GPU\n");
  printf("  layers         %d of %d on the GPU%s%s", f->gpu_layers, f->n_layers, hw->n_gpus > 1 ? "s" : "",
         f->output_on_gpu ? " (with the output layer)" : "");
  if (hw->n_gpus > 1 && f->gpu_layers > 0) {
    for (int i = 0; i < hw->n_gpus; i++) printf("%s GPU %d: %d", i ? "," : ":", i, f->gpu_layers_per[i]);
  }
  printf("\n");
  printf("  weights        %s\n", fmt(f->weights_bytes, a));
  printf("  KV cache       %s (%s)\n", fmt(f->kv_bytes, a), kv_name(kv));
  printf("  compute        %s\n", fmt(f->compute_bytes, a));
  printf("  overhead       %s\n", fmt(f->overhead_bytes, a));
  printf("  total needed   %s: RAM %s", fmt(f->total_bytes, a), fmt(f->cpu_bytes, b));
  for (int i = 0; i < hw->n_gpus; i++)
    if (f->gpu_bytes[i]) printf(", GPU %d %s", i, fmt(f->gpu_bytes[i], c));
  printf("\n");
  printf("  free           RAM %s", fmt(f->ram_free, a));
  if (hw->n_gpus > 0) printf(", GPU %s", fmt(f->gpu_free, b));
  printf("\n");
  /* per GPU: "Vulkan1  layers 24-47 (24) + output: weights 4.1 GB, KV 0.4 GB, compute 0.2 GB,
   * overhead 0.3 GB = 5.0 GB of 8.0 GB free: fits" */
  for (int i = 0; i < f->n_devices && f->gpu_layers > 0; i++) {
    const still_fit_device *d = &f->devices[i];
    char dev[32], w[32], k[32], cb[32], ov[32];
    snprintf(dev, sizeof dev, "Vulkan%d", d->gpu);
    if (d->n_layers == 0) {
      printf("  %-14s no layers (%s free)\n", dev, fmt(d->free_bytes, a));
      continue;
    }
    printf("  %-14s layers %d-%d (%d)%s: weights %s, KV %s, compute %s, overhead %s = %s of %s free: %s\n", dev,
           d->first_layer, d->first_layer + d->n_layers - 1, d->n_layers, d->output ? " + output" : "",
           fmt(d->weights_bytes, w), fmt(d->kv_bytes, k), fmt(d->compute_bytes, cb), fmt(d->overhead_bytes, ov),
           fmt(d->total_bytes, a), fmt(d->free_bytes, b), d->fits ? "fits" : "DOES NOT FIT");
  }
  if (f->verdict != STILL_FIT_NO) printf("  speed          ~%.1f tok/s (%s)\n", f->tok_s_estimate, estimate_note);
  return 0;
}

/* argv[i] names an option of opts that takes a value ("--ctx 4096"), so the next word is its value. */
static bool opt_takes_value(const cli_option *opts, size_t n, const char *arg)
{
  for (size_t k = 0; k < n; k++)
    if (opts[k].kind == CLI_OPT_VALUE &&
        ((opts[k].long_name && strcmp(arg, opts[k].long_name) == 0) ||
         (opts[k].short_name && strcmp(arg, opts[k].short_name) == 0)))
      return true;
  return false;
}

/* One --header-bytes file: a whole model; several: the parts of a split model. */
static still_status estimate_headers(const char **paths, int n, const still_hardware *hw, const still_fit_params *p,
                                     still_fit *f, still_error *err)
{
  char **bufs = calloc((size_t)n, sizeof *bufs);
  size_t *lens = calloc((size_t)n, sizeof *lens), *need = calloc((size_t)n, sizeof *need);
  still_status st = STILL_OK;
  if (!bufs || !lens || !need) st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n && st == STILL_OK; i++) {
    char why[512];
    bufs[i] = cli_read_all(paths[i], &lens[i], why, sizeof why);
    if (!bufs[i]) st = still_set_error(err, STILL_ERR_IO, "%s", why);
  }
  if (st == STILL_OK) st = still_fit_estimate_buffers((const void *const *)bufs, lens, NULL, n, hw, p, f, need, err);
  if (st == STILL_ERR_TRUNCATED) {
    /* one line (the CLI's failures are one line): the first incomplete part, and how many others */
    int first = -1, others = 0;
    for (int i = 0; i < n; i++)
      if (need[i] > lens[i]) {
        if (first < 0) first = i;
        else others++;
      }
    if (first < 0) cli_fail("%s", err->message);
    else if (n == 1) cli_fail("the header is incomplete: need %zu more bytes", need[first] - lens[first]);
    else if (others == 0)
      cli_fail("the header in %s is incomplete: need %zu more bytes", paths[first], need[first] - lens[first]);
    else
      cli_fail("the header in %s is incomplete: need %zu more bytes (and %d more of the headers given are "
               "incomplete)", paths[first], need[first] - lens[first], others);
  }
  if (bufs)
    for (int i = 0; i < n; i++) free(bufs[i]);
  free(bufs);
  free(lens);
  free(need);
  return st;
}

int still_cmd_fit(int argc, char **argv)
{
  const char *model = NULL, *header = NULL, *ctx = NULL, *kv = NULL, *split = NULL, *ngl = NULL;
  bool json = false;
  machine_opts mo = {0};
  const cli_option opts[] = {
    {.long_name = "--model", .short_name = "-m", .kind = CLI_OPT_VALUE, .value = &model},
    {.long_name = "--split", .kind = CLI_OPT_VALUE, .value = &split},
    {.long_name = "--gpu-layers", .short_name = "-ngl", .kind = CLI_OPT_VALUE, .value = &ngl},
    {.long_name = "--header-bytes", .kind = CLI_OPT_VALUE, .value = &header},
    {.long_name = "--ctx", .short_name = "-c", .kind = CLI_OPT_VALUE, .value = &ctx},
    {.long_name = "--kv-type", .kind = CLI_OPT_VALUE, .value = &kv},
    {.long_name = "--json", .kind = CLI_OPT_FLAG, .flag = &json},
    MACHINE_OPTIONS(mo),
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], fit_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  free(pos);
  if (n_pos > 0) return cli_fail("unexpected argument (usage: still fit -m FILE | --header-bytes FILE ...)");
  if (!model == !header) return cli_fail("give either -m FILE or --header-bytes FILE");
  still_fit_params p = still_fit_params_default();
  if (ctx && parse_ctx(ctx, &p.n_ctx) != 0) return 1;
  if (kv) {
    if (strcmp(kv, "f16") == 0 || strcmp(kv, "F16") == 0) p.kv_type = STILL_KV_F16;
    else if (strcmp(kv, "f32") == 0 || strcmp(kv, "F32") == 0) p.kv_type = STILL_KV_F32;
    else if (strcmp(kv, "q8_0") == 0 || strcmp(kv, "Q8_0") == 0) p.kv_type = STILL_KV_Q8_0;
    else return cli_fail("--kv-type must be f16, f32 or q8_0, not '%s'", kv);
  }
  if (cli_check_gpu_args(NULL, split)) return 1; /* the same check and message as `still run --split` */
  p.split = split;
  if (ngl) {
    char *end;
    errno = 0;
    long v = strtol(ngl, &end, 10);
    if (errno || end == ngl || *end || v < -1 || v > (1 << 20))
      return cli_fail("--gpu-layers needs a number of layers (-1: all), not '%s'", ngl);
    p.gpu_layers_set = true;
    p.n_gpu_layers = (int32_t)v;
  }
  still_hardware hw;
  if (!get_machine(&mo, &hw)) return 1;

  /* --header-bytes may be repeated (one per part of a split model): the parser keeps the last one only */
  const char **headers = NULL;
  int n_headers = 0;
  if (header) {
    headers = calloc((size_t)argc, sizeof *headers);
    if (!headers) return cli_fail("out of memory");
    for (int i = 1; i < argc; i++) {
      if (strcmp(argv[i], "--") == 0) break;
      if (strcmp(argv[i], "--header-bytes") == 0 && i + 1 < argc) headers[n_headers++] = argv[++i];
      else if (strncmp(argv[i], "--header-bytes=", 15) == 0) headers[n_headers++] = argv[i] + 15;
      else if (argv[i][0] == '-' && i + 1 < argc && opt_takes_value(opts, sizeof opts / sizeof opts[0], argv[i])) i++;
    }
    if (n_headers == 0) headers[n_headers++] = header;
  }
  still_fit f;
  still_error err = {0};
  still_status st;
  if (model) {
    st = still_fit_estimate_file(model, &hw, &p, &f, &err);
  } else {
    st = estimate_headers(headers, n_headers, &hw, &p, &f, &err);
    free(headers);
    if (st == STILL_ERR_TRUNCATED) return 1; /* already said which part needs how many bytes */
  }
  if (st != STILL_OK) return cli_fail("%s", err.message);
  int rc = json ? fit_json(model ? model : header, &f, &hw, p.kv_type, split) : fit_human(&f, &hw, p.kv_type);
  return rc ? rc : cli_finish_output();
}

/* ---- still hw ----------------------------------------------------------------------- */

static const char hw_usage[] =
  "Usage: still hw [--json] [--models-dir DIR] [--measure-membw]\n"
  "\n"
  "Show what the engine sees: GPUs (through Vulkan) with their free memory,\n"
  "RAM (and a container's memory limit), CPU and free disk space.\n"
  "\n"
  "Options:\n"
  "  --models-dir DIR   where models are kept, for the free disk space\n"
  "                     (default: $XDG_DATA_HOME/distill/models)\n"
  "  --measure-membw    measure the memory read bandwidth (about a second, a\n"
  "                     1 GiB buffer) instead of assuming it\n"
  "  --json             print JSON\n"
  "  -h, --help         show this help\n";

static char *default_models_dir(void)
{
  const char *xdg = getenv("XDG_DATA_HOME");
  const char *home = getenv("HOME");
  char buf[PATH_MAX];
  if (xdg && xdg[0] == '/') snprintf(buf, sizeof buf, "%s/distill/models", xdg);
  else if (home && *home) snprintf(buf, sizeof buf, "%s/.local/share/distill/models", home);
  else return NULL;
  return strdup(buf);
}

static int hw_json(const still_hardware *hw, const char *dir)
{
  cJSON *o = cJSON_CreateObject();
  if (!o) return cli_fail("out of memory");
  cli_json_add_u64(o, "ram_total", hw->ram_total);
  cli_json_add_u64(o, "ram_available", hw->ram_available);
  cli_json_add_u64(o, "ram_free", hw->ram_free);
  cli_json_add_u64(o, "swap_total", hw->swap_total);
  cli_json_add_u64(o, "swap_free", hw->swap_free);
  cJSON_AddBoolToObject(o, "cgroup_limited", hw->cgroup_limited);
  cli_json_add_opt_u64(o, "cgroup_max", hw->cgroup_limited, hw->cgroup_max);
  cli_json_add_opt_u64(o, "cgroup_current", hw->cgroup_limited, hw->cgroup_current);
  cli_json_add_strn(o, "cpu_name", hw->cpu_name, strlen(hw->cpu_name));
  cJSON_AddNumberToObject(o, "cpu_cores", hw->cpu_cores);
  cJSON_AddNumberToObject(o, "cpu_threads", hw->cpu_threads);
  cJSON_AddBoolToObject(o, "avx2", hw->avx2);
  cJSON_AddBoolToObject(o, "avx512", hw->avx512);
  cJSON_AddBoolToObject(o, "vnni", hw->vnni);
  cJSON_AddStringToObject(o, "cpu_features", still_cpu_feature_string());
  cJSON_AddNumberToObject(o, "cpu_bandwidth_gbs", hw->cpu_bandwidth_gbs);
  cJSON_AddBoolToObject(o, "cpu_bandwidth_measured", hw->cpu_bandwidth_measured);
  cli_json_add_strn(o, "models_dir", dir, dir ? strlen(dir) : 0);
  cli_json_add_opt_u64(o, "disk_free", hw->disk_known, hw->disk_free);
  cJSON_AddBoolToObject(o, "vulkan", hw->vulkan);
  cJSON_AddStringToObject(o, "gpu_note", hw->gpu_note);
  cJSON *gpus = cJSON_AddArrayToObject(o, "gpus");
  for (int i = 0; gpus && i < hw->n_gpus; i++) {
    const still_gpu *g = &hw->gpus[i];
    cJSON *x = cJSON_CreateObject();
    if (!x) break;
    cli_json_add_strn(x, "name", g->name, strlen(g->name));
    cJSON_AddStringToObject(x, "kind", still_gpu_kind_name(g->kind));
    cJSON_AddBoolToObject(x, "cpu_emulated", g->cpu_emulated);
    cJSON_AddBoolToObject(x, "unified", g->unified);
    cJSON_AddNumberToObject(x, "vendor_id", g->vendor_id);
    cJSON_AddNumberToObject(x, "device_id", g->device_id);
    cJSON_AddStringToObject(x, "api_version", g->api_version);
    cli_json_add_u64(x, "total_bytes", g->total_bytes);
    cli_json_add_u64(x, "free_bytes", g->free_bytes);
    cJSON_AddBoolToObject(x, "free_known", g->free_known);
    cJSON_AddNumberToObject(x, "bandwidth_gbs", g->bandwidth_gbs);
    cJSON_AddBoolToObject(x, "bandwidth_known", g->bandwidth_known);
    cJSON_AddBoolToObject(x, "bandwidth_measured", g->bandwidth_measured);
    cli_json_add_u64(x, "max_buffer_bytes", g->max_buffer_bytes);
    cJSON_AddBoolToObject(x, "matrix_cores", g->matrix_cores);
    cJSON_AddStringToObject(x, "int8_dot", still_int8_dot_name(g->int8_dot));
    cJSON_AddItemToArray(gpus, x);
  }
  bool ok = cli_json_print(o);
  cJSON_Delete(o);
  return ok ? 0 : cli_fail("out of memory");
}

static int hw_human(const still_hardware *hw, const char *dir)
{
  char a[32], b[32], c[32];
  printf("CPU     %s: %d cores, %d threads, %s\n", hw->cpu_name, hw->cpu_cores, hw->cpu_threads,
         still_cpu_feature_string());
  printf("RAM     %s total, %s available, %s usable for a model", fmt(hw->ram_total, a), fmt(hw->ram_available, b),
         fmt(hw->ram_free, c));
  if (hw->cgroup_limited) printf(" (container limit %s, %s used)", fmt(hw->cgroup_max, a), fmt(hw->cgroup_current, b));
  printf("\n");
  printf("swap    %s total, %s free (not counted as free memory)\n", fmt(hw->swap_total, a), fmt(hw->swap_free, b));
  printf("memory  ~%.1f GB/s read bandwidth (%s)\n", hw->cpu_bandwidth_gbs,
         hw->cpu_bandwidth_measured ? "measured" : "assumed; --measure-membw measures it");
  if (hw->disk_known) printf("disk    %s free at %s\n", fmt(hw->disk_free, a), dir ? dir : "?");
  else printf("disk    unknown%s%s\n", dir ? " at " : "", dir ? dir : "");
  if (hw->n_gpus == 0) printf("GPU     none\n");
  for (int i = 0; i < hw->n_gpus; i++) {
    const still_gpu *g = &hw->gpus[i];
    printf("GPU %d   %s (%s%s): %s", i, g->name, still_gpu_kind_name(g->kind),
           g->cpu_emulated ? ", emulated on the CPU: not used" : g->unified ? ", shares the RAM" : "",
           fmt(g->total_bytes, a));
    if (g->free_known) printf(", %s free", fmt(g->free_bytes, b));
    else printf(", free memory unknown");
    printf(", ~%.0f GB/s%s\n", g->bandwidth_gbs,
           g->bandwidth_known ? "" : g->bandwidth_measured ? " (the RAM's, measured)" : " (guess)");
  }
  if (hw->gpu_note[0]) printf("note    %s\n", hw->gpu_note);
  return 0;
}

int still_cmd_hw(int argc, char **argv)
{
  const char *dir = NULL;
  bool json = false, measure = false;
  const cli_option opts[] = {
    {.long_name = "--models-dir", .kind = CLI_OPT_VALUE, .value = &dir},
    {.long_name = "--json", .kind = CLI_OPT_FLAG, .flag = &json},
    {.long_name = "--measure-membw", .kind = CLI_OPT_FLAG, .flag = &measure},
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], hw_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  free(pos);
  if (n_pos > 0) return cli_fail("unexpected argument (usage: still hw [--json] [--models-dir DIR] [--measure-membw])");
  char *def = dir ? NULL : default_models_dir();
  if (!dir) dir = def;
  still_hardware hw;
  still_error err = {0};
  if (still_hardware_probe(&hw, dir, &err) != STILL_OK) {
    free(def);
    return cli_fail("%s", err.message);
  }
  if (measure) {
    double gbs = still_measure_memory_bandwidth(0, 0, NULL);
    if (!(gbs > 0)) {
      free(def);
      return cli_fail("could not measure the memory bandwidth (not enough memory for the test buffer?)");
    }
    still_hardware_set_memory_bandwidth(&hw, gbs);
  }
  int rc = json ? hw_json(&hw, dir) : hw_human(&hw, dir);
  free(def);
  return rc ? rc : cli_finish_output();
}

/* ---- still recommend ---------------------------------------------------------------- */

static const char recommend_usage[] =
  "Usage: still recommend [--ctx N] [--vram-free SIZE[,SIZE...]] [--unified] [--ram-free SIZE] [--json]\n"
  "\n"
  "Pick the DeepSeek-R1 distill and quantization with the best expected quality\n"
  "that runs fully on the GPU with N tokens of context (default 8192), else the\n"
  "best one reaching about 5 tok/s, and name the runner-up.\n"
  "\n"
  "Options:\n"
  "  --ctx N                context the candidates must hold (default 8192)\n"
  "  --json                 print JSON\n"
  MACHINE_USAGE
  "  -h, --help             show this help\n";

static cJSON *pick_json(const still_pick *p)
{
  cJSON *x = cJSON_CreateObject();
  if (!x) return NULL;
  cJSON_AddStringToObject(x, "model_id", p->model_id);
  cJSON_AddStringToObject(x, "model_name", p->model_name);
  cJSON_AddStringToObject(x, "quant", p->quant);
  cJSON_AddNumberToObject(x, "quality", round(p->quality * 100.0) / 100.0);
  cli_json_add_u64(x, "file_bytes", p->file_bytes);
  cJSON_AddStringToObject(x, "verdict", still_fit_verdict_name(p->fit.verdict));
  cJSON_AddNumberToObject(x, "gpu_layers", p->fit.gpu_layers);
  cJSON_AddNumberToObject(x, "n_layers", p->fit.n_layers);
  cli_json_add_u64(x, "total_bytes", p->fit.total_bytes);
  cJSON_AddNumberToObject(x, "max_ctx_gpu", p->fit.max_ctx_gpu);
  cJSON_AddNumberToObject(x, "tok_s_estimate", round(p->fit.tok_s_estimate * 10.0) / 10.0);
  cJSON_AddStringToObject(x, "message", p->fit.message);
  return x;
}

int still_cmd_recommend(int argc, char **argv)
{
  const char *ctx = NULL;
  bool json = false;
  machine_opts mo = {0};
  const cli_option opts[] = {
    {.long_name = "--ctx", .short_name = "-c", .kind = CLI_OPT_VALUE, .value = &ctx},
    {.long_name = "--json", .kind = CLI_OPT_FLAG, .flag = &json},
    MACHINE_OPTIONS(mo),
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], recommend_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  free(pos);
  if (n_pos > 0) return cli_fail("unexpected argument (usage: still recommend [OPTIONS])");
  int32_t n_ctx = 8192;
  if (ctx && parse_ctx(ctx, &n_ctx) != 0) return 1;
  still_hardware hw;
  if (!get_machine(&mo, &hw)) return 1;
  still_recommendation rec;
  still_error err = {0};
  if (still_recommend(&hw, n_ctx, &rec, &err) != STILL_OK) return cli_fail("%s", err.message);

  if (json) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return cli_fail("out of memory");
    cJSON_AddBoolToObject(o, "found", rec.found);
    cJSON_AddNumberToObject(o, "n_ctx", rec.n_ctx);
    cJSON_AddStringToObject(o, "reason", rec.reason);
    if (rec.found) cJSON_AddItemToObject(o, "pick", pick_json(&rec.pick));
    else cJSON_AddNullToObject(o, "pick");
    if (rec.has_runner_up) cJSON_AddItemToObject(o, "runner_up", pick_json(&rec.runner_up));
    else cJSON_AddNullToObject(o, "runner_up");
    cJSON_AddStringToObject(o, "estimate_note", estimate_note);
    bool ok = cli_json_print(o);
    cJSON_Delete(o);
    if (!ok) return cli_fail("out of memory");
    return cli_finish_output();
  }
  char a[32];
  if (rec.found) {
    printf("Recommended: %s %s (%s)\n", rec.pick.model_name, rec.pick.quant, fmt(rec.pick.file_bytes, a));
    printf("  %s\n", rec.pick.fit.message);
  } else {
    printf("No recommendation.\n");
  }
  printf("  %s\n", rec.reason);
  if (rec.has_runner_up)
    printf("Runner-up:   %s %s (%s): %s\n", rec.runner_up.model_name, rec.runner_up.quant,
           fmt(rec.runner_up.file_bytes, a), rec.runner_up.fit.message);
  printf("  (%s)\n", estimate_note);
  return cli_finish_output();
}
