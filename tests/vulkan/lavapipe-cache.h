/* lavapipe-cache.h — one Mesa shader cache per lavapipe vector width.
 *
 * Lavapipe (llvmpipe) keeps the machine code of each shader in Mesa's disk
 * cache, and its key does not hold LP_NATIVE_VECTOR_WIDTH: a run at 2048 bits
 * after one at the default width reads the default width's code, so the
 * tests of GPU-sized subgroups would run the 8-wide ones (measured: the same
 * logits to the bit). Each width gets its own folder in the build tree
 * (STILL_TEST_MESA_CACHE, set by meson), which also keeps code compiled on
 * another CPU out of the tests. A cache folder or switch already set in the
 * environment is left alone. Call before the first Vulkan instance; the CLI
 * runs of a test inherit it. */
#ifndef STILL_LAVAPIPE_CACHE_H
#define STILL_LAVAPIPE_CACHE_H

#include <glib.h>

static inline void lavapipe_cache_per_width(void)
{
  if (g_getenv("MESA_SHADER_CACHE_DIR") || g_getenv("MESA_SHADER_CACHE_DISABLE")) return;
  const char *width = g_getenv("LP_NATIVE_VECTOR_WIDTH");
  char *dir = g_strdup_printf("%s/mesa-cache-%s", STILL_TEST_MESA_CACHE, width && *width ? width : "native");
  g_setenv("MESA_SHADER_CACHE_DIR", dir, TRUE);
  g_free(dir);
}

#endif
