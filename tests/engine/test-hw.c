/* test-hw.c — the hardware probe: parsers on sample file contents, the
 * memory probe on a fake /proc + /sys tree (containers with cgroup v2 and
 * v1 limits), the real probe's sanity, `still hw --json`, and (vulkan
 * suite, STILL_TEST_LAVAPIPE=1) lavapipe listed as a CPU-emulated device. */
#include "cpu/cpu-features.h"
#include "hw.h"
#include "test-common.h"

#include <cJSON.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

static char *tmp_dir;

/* ---- parsers ----------------------------------------------------------------------------- */

static const char meminfo_sample[] = "MemTotal:       32594152 kB\n"
                                     "MemFree:         1183404 kB\n"
                                     "MemAvailable:   20746300 kB\n"
                                     "Buffers:          512044 kB\n"
                                     "Cached:         18012332 kB\n"
                                     "SwapCached:          12 kB\n"
                                     "SwapTotal:       8388604 kB\n"
                                     "SwapFree:        8388092 kB\n"
                                     "HugePages_Total:       0\n"
                                     "Hugepagesize:       2048 kB\n";

static void test_meminfo(void)
{
  still_meminfo mi;
  g_assert_true(still_hw_parse_meminfo(meminfo_sample, &mi));
  g_assert_cmpuint(mi.mem_total, ==, 32594152ull * 1024);
  g_assert_cmpuint(mi.mem_available, ==, 20746300ull * 1024);
  g_assert_cmpuint(mi.mem_free, ==, 1183404ull * 1024);
  g_assert_cmpuint(mi.swap_total, ==, 8388604ull * 1024);
  g_assert_cmpuint(mi.swap_free, ==, 8388092ull * 1024);
  g_assert_true(mi.has_available);
  /* an old kernel without MemAvailable: free + buffers + cached */
  const char *old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n";
  g_assert_true(still_hw_parse_meminfo(old, &mi));
  g_assert_false(mi.has_available);
  g_assert_cmpuint(mi.mem_available, ==, 420ull * 1024);
  /* no last newline, odd spacing */
  g_assert_true(still_hw_parse_meminfo("MemAvailable:\t5 kB\nMemTotal:   7 kB", &mi));
  g_assert_cmpuint(mi.mem_total, ==, 7 * 1024);
  g_assert_cmpuint(mi.mem_available, ==, 5 * 1024);
  /* garbage: no MemTotal, never a crash */
  const char *bad[] = {"", "MemTotal", "MemTotal:", "MemTotal: kB\n", "Mem Total: 5 kB", ":::\n\n\n", "MemTotal: -5 kB"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) g_assert_false(still_hw_parse_meminfo(bad[i], &mi));
  g_assert_false(still_hw_parse_meminfo(NULL, &mi));
  /* a value that overflows when multiplied by 1024 saturates */
  g_assert_true(still_hw_parse_meminfo("MemTotal: 18446744073709551615 kB\n", &mi));
  g_assert_cmpuint(mi.mem_total, ==, UINT64_MAX);
}

static void test_cgroup_values(void)
{
  uint64_t v;
  bool unl;
  g_assert_true(still_hw_parse_cgroup_value("max\n", &v, &unl));
  g_assert_true(unl);
  g_assert_true(still_hw_parse_cgroup_value("8589934592\n", &v, &unl));
  g_assert_false(unl);
  g_assert_cmpuint(v, ==, 8589934592ull);
  /* cgroup v1's "no limit" */
  g_assert_true(still_hw_parse_cgroup_value("9223372036854771712\n", &v, &unl));
  g_assert_true(unl);
  g_assert_true(still_hw_parse_cgroup_value("0", &v, &unl));
  g_assert_cmpuint(v, ==, 0);
  const char *bad[] = {"", "\n", "maximum", "abc", "12 34", "-5", "1e9", "max 5", "99999999999999999999999"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) g_assert_false(still_hw_parse_cgroup_value(bad[i], &v, &unl));

  const char *stat = "anon 123\nfile 9000\nactive_file 4000\ninactive_file 5000\ntotal_inactive_file 77\n";
  g_assert_true(still_hw_parse_memory_stat(stat, "inactive_file", &v));
  g_assert_cmpuint(v, ==, 5000);
  g_assert_true(still_hw_parse_memory_stat(stat, "total_inactive_file", &v));
  g_assert_cmpuint(v, ==, 77);
  g_assert_false(still_hw_parse_memory_stat(stat, "inactive", &v));
  g_assert_false(still_hw_parse_memory_stat("", "anon", &v));

  g_assert_cmpuint(still_hw_cgroup_room(1000, 600, 100), ==, 500);
  g_assert_cmpuint(still_hw_cgroup_room(1000, 1200, 0), ==, 0);
  g_assert_cmpuint(still_hw_cgroup_room(1000, 50, 100), ==, 1000);
}

static void test_cgroup_path(void)
{
  char p[256];
  const char *v2 = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-flatpak-io.x.scope\n";
  g_assert_true(still_hw_cgroup_path(v2, true, p, sizeof p));
  g_assert_cmpstr(p, ==, "/user.slice/user-1000.slice/user@1000.service/app.slice/app-flatpak-io.x.scope");
  g_assert_false(still_hw_cgroup_path(v2, false, p, sizeof p));
  const char *v1 = "12:pids:/docker/abc\n9:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n";
  g_assert_true(still_hw_cgroup_path(v1, false, p, sizeof p));
  g_assert_cmpstr(p, ==, "/docker/abc");
  g_assert_true(still_hw_cgroup_path(v1, true, p, sizeof p));
  g_assert_cmpstr(p, ==, "/");
  g_assert_true(still_hw_cgroup_path("3:cpuset,memory,blkio:/x/y", false, p, sizeof p));
  g_assert_cmpstr(p, ==, "/x/y");
  g_assert_false(still_hw_cgroup_path("3:memoryx:/x\n5:xmemory:/y\n", false, p, sizeof p));
  g_assert_false(still_hw_cgroup_path("", true, p, sizeof p));
  g_assert_false(still_hw_cgroup_path("garbage\n::\n0:", true, p, sizeof p));
  g_assert_false(still_hw_cgroup_path(v2, true, p, 8)); /* does not fit */
}

/* ---- a fake machine ------------------------------------------------------------------------ */

static void put(const char *root, const char *rel, const char *text)
{
  char *path = g_build_filename(root, rel, NULL);
  char *dir = g_path_get_dirname(path);
  g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
  g_assert_true(g_file_set_contents(path, text, -1, NULL));
  g_free(dir);
  g_free(path);
}

static char *fake_root(const char *name)
{
  char *root = g_build_filename(tmp_dir, name, NULL);
  put(root, "proc/meminfo", meminfo_sample); /* MemAvailable 19.8 GiB */
  return root;
}

static void test_fake_machines(void)
{
  const uint64_t avail = 20746300ull * 1024;
  still_hardware hw;

  /* no cgroup file at all: MemAvailable */
  char *root = fake_root("plain");
  memset(&hw, 0, sizeof hw);
  still_hw_probe_memory(root, &hw);
  g_assert_cmpuint(hw.ram_total, ==, 32594152ull * 1024);
  g_assert_cmpuint(hw.ram_free, ==, avail);
  g_assert_false(hw.cgroup_limited);
  test_remove_tree(root);
  g_free(root);

  /* cgroup v2 container (namespaced: /proc/self/cgroup says "/"), 8 GiB limit, 3 GiB used of which 1 GiB inactive cache */
  root = fake_root("v2");
  put(root, "proc/self/cgroup", "0::/\n");
  put(root, "sys/fs/cgroup/memory.max", "8589934592\n");
  put(root, "sys/fs/cgroup/memory.current", "3221225472\n");
  put(root, "sys/fs/cgroup/memory.stat", "anon 2147483648\ninactive_file 1073741824\n");
  memset(&hw, 0, sizeof hw);
  still_hw_probe_memory(root, &hw);
  g_assert_true(hw.cgroup_limited);
  g_assert_cmpuint(hw.cgroup_max, ==, 8589934592ull);
  g_assert_cmpuint(hw.cgroup_current, ==, 3221225472ull);
  g_assert_cmpuint(hw.ram_free, ==, 8589934592ull - 2147483648ull);
  test_remove_tree(root);
  g_free(root);

  /* flatpak-like: a scope deep in the tree without a limit, a parent slice with one; "max" elsewhere */
  root = fake_root("v2-nested");
  put(root, "proc/self/cgroup", "0::/user.slice/app.slice/app-flatpak.scope\n");
  put(root, "sys/fs/cgroup/user.slice/app.slice/app-flatpak.scope/memory.max", "max\n");
  put(root, "sys/fs/cgroup/user.slice/app.slice/app-flatpak.scope/memory.current", "100\n");
  put(root, "sys/fs/cgroup/user.slice/app.slice/memory.max", "4294967296\n");
  put(root, "sys/fs/cgroup/user.slice/app.slice/memory.current", "1073741824\n");
  put(root, "sys/fs/cgroup/user.slice/memory.max", "max\n");
  memset(&hw, 0, sizeof hw);
  still_hw_probe_memory(root, &hw);
  g_assert_true(hw.cgroup_limited);
  g_assert_cmpuint(hw.ram_free, ==, 3221225472ull);
  test_remove_tree(root);
  g_free(root);

  /* a limit larger than what is available: MemAvailable stays the answer */
  root = fake_root("v2-loose");
  put(root, "proc/self/cgroup", "0::/a\n");
  put(root, "sys/fs/cgroup/a/memory.max", "68719476736\n");
  put(root, "sys/fs/cgroup/a/memory.current", "0\n");
  memset(&hw, 0, sizeof hw);
  still_hw_probe_memory(root, &hw);
  g_assert_true(hw.cgroup_limited);
  g_assert_cmpuint(hw.ram_free, ==, avail);
  test_remove_tree(root);
  g_free(root);

  /* cgroup v1 (docker), usage over the limit: nothing free */
  root = fake_root("v1");
  put(root, "proc/self/cgroup", "11:pids:/docker/abc\n4:memory:/docker/abc\n0::/\n");
  put(root, "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "2147483648\n");
  put(root, "sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes", "3000000000\n");
  put(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  memset(&hw, 0, sizeof hw);
  still_hw_probe_memory(root, &hw);
  g_assert_true(hw.cgroup_limited);
  g_assert_cmpuint(hw.cgroup_max, ==, 2147483648ull);
  g_assert_cmpuint(hw.ram_free, ==, 0);
  test_remove_tree(root);
  g_free(root);

  /* garbage in every file: no crash, no limit */
  root = fake_root("junk");
  put(root, "proc/self/cgroup", "\n\n:::::\n0::\n");
  put(root, "sys/fs/cgroup/memory.max", "lots\n");
  memset(&hw, 0, sizeof hw);
  still_hw_probe_memory(root, &hw);
  g_assert_false(hw.cgroup_limited);
  g_assert_cmpuint(hw.ram_free, ==, avail);
  test_remove_tree(root);
  g_free(root);

  /* CPU name from a fake cpuinfo (ARM style without "model name") */
  root = fake_root("arm");
  put(root, "proc/cpuinfo", "processor\t: 0\nBogoMIPS\t: 48.00\nCPU part\t: 0xd0c\n\nHardware\t: Ampere   Altra\n");
  memset(&hw, 0, sizeof hw);
  still_hw_probe_cpu(root, &hw);
  g_assert_cmpstr(hw.cpu_name, ==, "Ampere Altra");
  g_assert_cmpint(hw.cpu_cores, >=, 1);
  test_remove_tree(root);
  g_free(root);
}

static void test_disk(void)
{
  uint64_t b = 0;
  g_assert_true(still_hw_disk_free(tmp_dir, &b));
  g_assert_cmpuint(b, >, 0);
  /* a models folder that does not exist yet: asks its parent */
  char *sub = g_build_filename(tmp_dir, "not", "yet", "models", NULL);
  uint64_t c = 0;
  g_assert_true(still_hw_disk_free(sub, &c));
  g_assert_cmpuint(c, >, 0);
  g_free(sub);
  g_assert_false(still_hw_disk_free(NULL, &c));
  g_assert_false(still_hw_disk_free("", &c));
  g_assert_true(still_hw_disk_free("relative/path/that/is/missing", &c));
}

static void test_bandwidth_table(void)
{
  bool known;
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 4090", STILL_GPU_DISCRETE, &known), ==, 1008);
  g_assert_true(known);
  /* the longest entry wins */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 4070 Ti SUPER", STILL_GPU_DISCRETE, &known), ==, 672);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 4070 Ti", STILL_GPU_DISCRETE, &known), ==, 504);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 7900 XTX (RADV NAVI31)", STILL_GPU_DISCRETE, &known), ==,
                    960);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 7900 XT (RADV NAVI31)", STILL_GPU_DISCRETE, &known), ==, 800);
  double d = still_gpu_bandwidth_gbs("Some Future Card", STILL_GPU_DISCRETE, &known);
  g_assert_false(known);
  double i = still_gpu_bandwidth_gbs("AMD Radeon Graphics (RADV GFX1103_R1)", STILL_GPU_INTEGRATED, &known);
  g_assert_false(known);
  g_assert_cmpfloat(d, >, i);
  g_assert_cmpfloat(i, >, 0);
  g_assert_cmpstr(still_gpu_kind_name(STILL_GPU_CPU), ==, "cpu");

  /* a laptop GPU takes its own entry, never its faster desktop namesake's */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 4090 Laptop GPU", STILL_GPU_DISCRETE, &known), ==, 576);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 4070 Laptop GPU", STILL_GPU_DISCRETE, &known), ==, 256);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 3080 Ti Laptop GPU", STILL_GPU_DISCRETE, &known), ==,
                    512);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("nvidia geforce rtx 3080 laptop gpu", STILL_GPU_DISCRETE, &known), ==, 384);
  /* Intel's laptop Arc parts are laptop ones; GH200 is not an H200 by accident of spelling */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("Intel(R) Arc(tm) A370M Graphics (DG2)", STILL_GPU_DISCRETE, &known), ==,
                    112);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("Intel(R) Arc(tm) A550M Graphics (DG2)", STILL_GPU_DISCRETE, &known), ==,
                    192);
  g_assert_false(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("Intel(R) Arc(tm) A770 Graphics (DG2)", STILL_GPU_DISCRETE, &known), ==,
                    560);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GH200 480GB", STILL_GPU_DISCRETE, &known), ==, 4000);
  /* an unknown laptop card: a guess below the desktop one; a Max-Q name is a laptop one */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 9999 Laptop GPU", STILL_GPU_DISCRETE, &known), ==, 192);
  g_assert_false(known);
  g_assert_cmpfloat(d, ==, 250);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 2080 with Max-Q Design", STILL_GPU_DISCRETE, &known),
                    ==, 192);
  g_assert_false(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA RTX A1000 Laptop GPU", STILL_GPU_DISCRETE, &known), ==, 192);
  g_assert_false(known);
  /* matches only at word boundaries: A1000 is not an A100 */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA RTX A1000", STILL_GPU_DISCRETE, &known), ==, 250);
  g_assert_false(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA A100-SXM4-80GB", STILL_GPU_DISCRETE, &known), ==, 2039);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA A100 80GB PCIe", STILL_GPU_DISCRETE, &known), ==, 1935);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA A100-PCIE-40GB", STILL_GPU_DISCRETE, &known), ==, 1555);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA H100 NVL", STILL_GPU_DISCRETE, &known), ==, 3900);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA H100 80GB HBM3", STILL_GPU_DISCRETE, &known), ==, 3350);
  /* AMD's mobile parts: "RX 7600M" is not an "RX 7600", "RX 6800S" not an "RX 6800" */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 7600M XT (RADV NAVI33)", STILL_GPU_DISCRETE, &known), ==,
                    288);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 7600M (RADV NAVI33)", STILL_GPU_DISCRETE, &known), ==, 256);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 6800S", STILL_GPU_DISCRETE, &known), ==, 256);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 7600 (RADV NAVI33)", STILL_GPU_DISCRETE, &known), ==, 288);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 6800 (RADV NAVI21)", STILL_GPU_DISCRETE, &known), ==, 512);
  /* an unknown mobile AMD part (an M suffix) gets the laptop guess */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 6550M (RADV NAVI24)", STILL_GPU_DISCRETE, &known), ==, 192);
  g_assert_false(known);
  /* no entry inside a longer model number: an RX 5800 would not be an RX 580 */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 5800", STILL_GPU_DISCRETE, &known), ==, 250);
  g_assert_false(known);
  g_assert_cmpfloat(
      still_gpu_bandwidth_gbs("AMD Radeon RX 580 Series (RADV POLARIS10)", STILL_GPU_DISCRETE, &known), ==, 256);
  g_assert_true(known);
  /* desktop names keep their figures; the longest entry still wins */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 4070 SUPER", STILL_GPU_DISCRETE, &known), ==, 504);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 4080 SUPER", STILL_GPU_DISCRETE, &known), ==, 736);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 2070 SUPER", STILL_GPU_DISCRETE, &known), ==, 448);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("NVIDIA GeForce RTX 5060", STILL_GPU_DISCRETE, &known), ==, 448);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("AMD Radeon RX 9060 XT (RADV GFX1200)", STILL_GPU_DISCRETE, &known), ==,
                    320);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("Intel(R) Arc(tm) A770 Graphics (DG2)", STILL_GPU_DISCRETE, &known), ==,
                    560);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("Intel(R) Arc(TM) B580 Graphics", STILL_GPU_DISCRETE, &known), ==, 456);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("Apple M1 Max", STILL_GPU_INTEGRATED, &known), ==, 400);
  g_assert_true(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("Apple M1", STILL_GPU_INTEGRATED, &known), ==, 68);
  /* no name: the guess by kind */
  g_assert_cmpfloat(still_gpu_bandwidth_gbs(NULL, STILL_GPU_DISCRETE, &known), ==, 250);
  g_assert_false(known);
  g_assert_cmpfloat(still_gpu_bandwidth_gbs("", STILL_GPU_INTEGRATED, &known), ==, 70);
  g_assert_false(known);
}

/* ---- the real probe ----------------------------------------------------------------------- */

static void test_probe(void)
{
  still_hardware hw;
  still_error err = {0};
  g_assert_cmpint(still_hardware_probe(&hw, tmp_dir, &err), ==, STILL_OK);
  g_test_message("%s, %d cores / %d threads, RAM %.1f GB (%.1f GB usable), %d GPU(s)%s%s", hw.cpu_name, hw.cpu_cores,
                 hw.cpu_threads, hw.ram_total / 1e9, hw.ram_free / 1e9, hw.n_gpus, hw.gpu_note[0] ? ": " : "",
                 hw.gpu_note);
  g_assert_cmpuint(hw.ram_total, >, 64ull << 20);
  g_assert_cmpuint(hw.ram_available, <=, hw.ram_total);
  g_assert_cmpuint(hw.ram_free, <=, hw.ram_available);
  g_assert_cmpint(hw.cpu_cores, >=, 1);
  g_assert_cmpint(hw.cpu_threads, >=, hw.cpu_cores);
  g_assert_cmpuint(strlen(hw.cpu_name), >, 0);
  g_assert_cmpfloat(hw.cpu_bandwidth_gbs, ==, STILL_DEFAULT_CPU_BANDWIDTH_GBS);
  const still_cpu_features *f = still_cpu_get_features();
  g_assert_cmpint(hw.avx2, ==, f->avx2);
  g_assert_cmpint(hw.avx512, ==, f->avx512f);
  g_assert_true(hw.disk_known);
  g_assert_cmpuint(hw.disk_free, >, 0);
  g_assert_cmpint(hw.n_gpus, >=, 0);
  g_assert_cmpint(hw.n_gpus, <=, STILL_MAX_GPUS);
  for (int i = 0; i < hw.n_gpus; i++) {
    const still_gpu *g = &hw.gpus[i];
    g_assert_cmpuint(strlen(g->name), >, 0);
    g_assert_cmpuint(g->free_bytes, <=, g->total_bytes);
    g_assert_cmpint(g->cpu_emulated, ==, g->kind == STILL_GPU_CPU);
    g_assert_cmpfloat(g->bandwidth_gbs, >, 0);
  }
  if (hw.n_gpus == 0) g_assert_cmpuint(strlen(hw.gpu_note), >, 0);
  g_assert_cmpint(still_hardware_probe(NULL, NULL, &err), ==, STILL_ERR_INVALID_ARG);
}

static gboolean run_still(char **out, char **errout, int *code, const char *const *args)
{
  const char *cli = g_getenv("STILL_CLI");
  if (!cli || !*cli) {
    g_test_skip("STILL_CLI is not set (run through meson test)");
    return FALSE;
  }
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, (gpointer)cli);
  for (const char *const *a = args; *a; a++) g_ptr_array_add(argv, (gpointer)*a);
  g_ptr_array_add(argv, NULL);
  int status = 0;
  GError *error = NULL;
  g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, errout, &status,
                             &error));
  g_assert_no_error(error);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  g_ptr_array_free(argv, TRUE);
  return TRUE;
}

static cJSON *hw_json(void)
{
  char *out = NULL, *err = NULL;
  int code;
  if (!run_still(&out, &err, &code, (const char *const[]){"hw", "--json", "--models-dir", tmp_dir, NULL})) return NULL;
  if (code != 0) g_test_message("stderr: %s", err);
  g_assert_cmpint(code, ==, 0);
  cJSON *j = cJSON_Parse(out);
  g_assert_nonnull(j);
  g_free(out);
  g_free(err);
  return j;
}

static void test_cli_json(void)
{
  cJSON *j = hw_json();
  if (!j) return;
  static const char *const numbers[] = {"ram_total", "ram_available", "ram_free", "swap_total", "swap_free",
                                        "cpu_cores", "cpu_threads", "cpu_bandwidth_gbs", "disk_free"};
  for (size_t i = 0; i < G_N_ELEMENTS(numbers); i++)
    g_assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, numbers[i])));
  static const char *const bools[] = {"cgroup_limited", "avx2", "avx512", "vnni", "vulkan", "cpu_bandwidth_measured"};
  for (size_t i = 0; i < G_N_ELEMENTS(bools); i++)
    g_assert_true(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, bools[i])));
  static const char *const strings[] = {"cpu_name", "cpu_features", "models_dir", "gpu_note"};
  for (size_t i = 0; i < G_N_ELEMENTS(strings); i++)
    g_assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, strings[i])));
  g_assert_nonnull(cJSON_GetObjectItemCaseSensitive(j, "cgroup_max"));
  g_assert_cmpstr(cJSON_GetObjectItemCaseSensitive(j, "models_dir")->valuestring, ==, tmp_dir);
  g_assert_cmpfloat(cJSON_GetObjectItemCaseSensitive(j, "ram_total")->valuedouble, >, 0);
  g_assert_cmpint(cJSON_GetObjectItemCaseSensitive(j, "cpu_cores")->valueint, >=, 1);
  const cJSON *gpus = cJSON_GetObjectItemCaseSensitive(j, "gpus");
  g_assert_true(cJSON_IsArray(gpus));
  const cJSON *g;
  cJSON_ArrayForEach(g, gpus)
  {
    static const char *const gkeys[] = {"name", "kind", "cpu_emulated", "unified", "total_bytes", "free_bytes",
                                        "free_known", "bandwidth_gbs", "bandwidth_known", "api_version",
                                        "matrix_cores", "int8_dot"};
    for (size_t i = 0; i < G_N_ELEMENTS(gkeys); i++) g_assert_nonnull(cJSON_GetObjectItemCaseSensitive(g, gkeys[i]));
  }
  cJSON_Delete(j);

  /* human output and bad input */
  char *out = NULL, *err = NULL;
  int code;
  run_still(&out, &err, &code, (const char *const[]){"hw", NULL});
  g_assert_cmpint(code, ==, 0);
  g_assert_true(g_str_has_prefix(out, "CPU     "));
  g_assert_nonnull(strstr(out, "\nRAM     "));
  g_free(out);
  g_free(err);
  run_still(&out, &err, &code, (const char *const[]){"hw", "--bogus", NULL});
  g_assert_cmpint(code, ==, 1);
  g_assert_true(g_str_has_prefix(err, "still: "));
  g_free(out);
  g_free(err);
}

/* Vulkan suite only: with VK_ICD_FILENAMES pointing at lavapipe the probe
 * lists it as a CPU-emulated device that is never used to place layers. */
static void test_lavapipe(void)
{
  if (g_strcmp0(g_getenv("STILL_TEST_LAVAPIPE"), "1") != 0) {
    g_test_skip("runs in the vulkan suite (STILL_TEST_LAVAPIPE=1, VK_ICD_FILENAMES=lavapipe)");
    return;
  }
  still_hardware hw;
  g_assert_cmpint(still_hardware_probe(&hw, NULL, NULL), ==, STILL_OK);
  g_test_message("vulkan %d, %d device(s), note: %s", hw.vulkan, hw.n_gpus, hw.gpu_note);
#ifdef STILL_HAVE_VULKAN
  g_assert_true(hw.vulkan);
  g_assert_cmpint(hw.n_gpus, >=, 1);
  int emulated = -1;
  for (int i = 0; i < hw.n_gpus; i++)
    if (hw.gpus[i].kind == STILL_GPU_CPU) emulated = i;
  g_assert_cmpint(emulated, >=, 0);
  const still_gpu *g = &hw.gpus[emulated];
  g_assert_true(g->cpu_emulated);
  g_assert_nonnull(strstr(g->name, "llvmpipe"));
  g_assert_cmpuint(g->total_bytes, >, 0);
  g_assert_cmpuint(g->free_bytes, <=, g->total_bytes);
  /* no caveat about its memory: it runs no model unless named, and the note would read as the reason
   * no GPU is usable */
  g_assert_null(strstr(hw.gpu_note, "llvmpipe"));
  /* Mesa's lavapipe has 8-bit integer dot products, emulated (it reports them not accelerated) */
  g_assert_cmpint(g->int8_dot, ==, STILL_INT8_DOT_EMULATED);

  cJSON *j = hw_json();
  if (!j) return;
  bool found = false;
  const cJSON *x;
  cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "gpus"))
  {
    if (g_strcmp0(cJSON_GetObjectItemCaseSensitive(x, "kind")->valuestring, "cpu") == 0) {
      g_assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "cpu_emulated")));
      /* lavapipe has no cooperative matrices */
      g_assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(x, "matrix_cores")));
      g_assert_cmpstr(cJSON_GetObjectItemCaseSensitive(x, "int8_dot")->valuestring, ==, "emulated");
      found = true;
    }
  }
  g_assert_true(found);
  g_assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "vulkan")));
  cJSON_Delete(j);
#else
  g_assert_cmpint(hw.n_gpus, ==, 0);
  g_assert_nonnull(strstr(hw.gpu_note, "without Vulkan"));
#endif
}

/* still_gpu_selector(s): a card by its UUID where no other entry has it, else by index */
static void test_gpu_selectors(void)
{
  still_hardware hw;
  uint64_t vram[3] = {8ull << 30, 8ull << 30, 8ull << 30};
  still_hardware_simulated(&hw, 16ull << 30, 3, vram, false, 0, 0);
  char out[256];
  g_assert_cmpint(still_gpu_selector(&hw, 1, out, sizeof out), ==, 1);
  g_assert_cmpstr(out, ==, "1"); /* no UUID known */
  for (int i = 0; i < 16; i++) hw.gpus[1].uuid[i] = (uint8_t)(0x10 * i + 0xf - i);
  hw.gpus[1].uuid_known = true;
  g_assert_cmpint(still_gpu_selector(&hw, 1, out, sizeof out), ==, 37);
  g_assert_cmpstr(out, ==, "uuid:0f1e2d3c4b5a69788796a5b4c3d2e1f0");
  /* the same UUID on another entry (one card, two drivers): indices */
  memcpy(hw.gpus[2].uuid, hw.gpus[1].uuid, 16);
  hw.gpus[2].uuid_known = true;
  g_assert_true(still_gpu_selectors(&hw, "2,1,0", out, sizeof out));
  g_assert_cmpstr(out, ==, "2,1,0");
  hw.gpus[2].uuid[15] ^= 1;
  g_assert_true(still_gpu_selectors(&hw, "2,1,0", out, sizeof out));
  g_assert_cmpstr(out, ==, "uuid:0f1e2d3c4b5a69788796a5b4c3d2e1f1,uuid:0f1e2d3c4b5a69788796a5b4c3d2e1f0,0");
  /* names and out-of-range indices are copied as they are; an empty list stays empty */
  g_assert_true(still_gpu_selectors(&hw, "RTX 4090,7", out, sizeof out));
  g_assert_cmpstr(out, ==, "RTX 4090,7");
  g_assert_true(still_gpu_selectors(&hw, "", out, sizeof out));
  g_assert_cmpstr(out, ==, "");
  /* too small: false and nothing half written */
  g_assert_false(still_gpu_selectors(&hw, "1,2", out, 40));
  g_assert_cmpstr(out, ==, "");
  g_assert_true(still_gpu_selectors(NULL, "1", out, sizeof out));
  g_assert_cmpstr(out, ==, "1");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp("test-hw-XXXXXX", NULL);
  g_assert_nonnull(tmp_dir);
  g_test_add_func("/hw/meminfo", test_meminfo);
  g_test_add_func("/hw/cgroup-values", test_cgroup_values);
  g_test_add_func("/hw/cgroup-path", test_cgroup_path);
  g_test_add_func("/hw/fake-machines", test_fake_machines);
  g_test_add_func("/hw/gpu-selectors", test_gpu_selectors);
  g_test_add_func("/hw/disk", test_disk);
  g_test_add_func("/hw/bandwidth-table", test_bandwidth_table);
  g_test_add_func("/hw/probe", test_probe);
  g_test_add_func("/hw/cli-json", test_cli_json);
  g_test_add_func("/hw/lavapipe", test_lavapipe);
  int rc = g_test_run();
  test_remove_tree(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
