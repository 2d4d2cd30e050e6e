/* test-util.c — UTF-8 validation, half-float conversion, size formatting. */
#include "test-common.h"
#include "util.h"

#include <math.h>

static void test_utf8(void)
{
  g_assert_true(still_utf8_valid("", 0));
  g_assert_true(still_utf8_valid("hello", 5));
  g_assert_true(still_utf8_valid("\xe4\xbd\xa0\xe5\xa5\xbd", 6));         /* 你好 */
  g_assert_true(still_utf8_valid("\xf0\x9f\x98\x80", 4));                 /* 😀 */
  g_assert_false(still_utf8_valid("\xc0\xaf", 2));                        /* overlong / */
  g_assert_false(still_utf8_valid("\xed\xa0\x80", 3));                    /* surrogate */
  g_assert_false(still_utf8_valid("\xf4\x90\x80\x80", 4));                /* > U+10FFFF */
  g_assert_false(still_utf8_valid("\xe4\xbd", 2));                        /* truncated */
  g_assert_false(still_utf8_valid("\x80", 1));                            /* lone continuation */
  g_assert_cmpuint(still_utf8_seq_len("\xe4\xbd\xa0", 3), ==, 3);
  g_assert_cmpuint(still_utf8_seq_len("\xe4\xbd\xa0", 2), ==, 0);
}

static void test_fp16(void)
{
  /* every half value round-trips exactly through float */
  for (uint32_t h = 0; h < 65536; h++) {
    float f = still_fp16_to_fp32((uint16_t)h);
    if (isnan(f)) {
      g_assert_true(isnan(still_fp16_to_fp32(still_fp32_to_fp16(f))));
      continue;
    }
    g_assert_cmpuint(still_fp32_to_fp16(f), ==, h);
  }
  g_assert_cmpfloat(still_fp16_to_fp32(0x3C00), ==, 1.0f);
  g_assert_cmpfloat(still_fp16_to_fp32(0xC000), ==, -2.0f);
  g_assert_cmpfloat(still_fp16_to_fp32(0x0001), ==, ldexpf(1.0f, -24));
  g_assert_cmpuint(still_fp32_to_fp16(65520.0f), ==, 0x7C00);  /* rounds to inf */
  g_assert_cmpuint(still_fp32_to_fp16(1.0f + ldexpf(1.0f, -11)), ==, 0x3C00); /* tie → even */
  g_assert_cmpuint(still_fp32_to_fp16(1.0f + 3 * ldexpf(1.0f, -11)), ==, 0x3C02);
  g_assert_cmpuint(still_fp32_to_fp16(ldexpf(1.0f, -25)), ==, 0); /* tie below smallest → 0 */
  g_assert_cmpuint(still_fp32_to_fp16(ldexpf(1.5f, -25)), ==, 1);
}

static void test_bf16(void)
{
  g_assert_cmpfloat(still_bf16_to_fp32(0x3F80), ==, 1.0f);
  g_assert_cmpuint(still_fp32_to_bf16(1.0f), ==, 0x3F80);
  g_assert_cmpuint(still_fp32_to_bf16(1.0f + ldexpf(1.0f, -8)), ==, 0x3F80); /* tie → even */
  g_assert_cmpuint(still_fp32_to_bf16(1.0f + 3 * ldexpf(1.0f, -8)), ==, 0x3F82);
  g_assert_true(isnan(still_bf16_to_fp32(still_fp32_to_bf16(NAN))));
}

static void test_format_bytes(void)
{
  char buf[32];
  g_assert_cmpstr(still_format_bytes(999, buf, sizeof buf), ==, "999 bytes");
  g_assert_cmpstr(still_format_bytes(1200000000ull, buf, sizeof buf), ==, "1.2 GB");
  g_assert_cmpstr(still_format_bytes(4683073216ull, buf, sizeof buf), ==, "4.7 GB");
  g_assert_cmpstr(still_format_bytes(19900000000ull, buf, sizeof buf), ==, "20 GB");
}

static void test_error(void)
{
  still_error e = {0};
  g_assert_cmpint(still_set_error(&e, STILL_ERR_TRUNCATED, "ends at %s", "1.2 GB"), ==, STILL_ERR_TRUNCATED);
  g_assert_cmpstr(e.message, ==, "ends at 1.2 GB");
  g_assert_cmpint(e.status, ==, STILL_ERR_TRUNCATED);
  g_assert_cmpint(still_set_error(NULL, STILL_ERR_IO, "x"), ==, STILL_ERR_IO);
  g_assert_cmpstr(still_status_name(STILL_ERR_NOMEM), ==, "out of memory");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/util/utf8", test_utf8);
  g_test_add_func("/util/fp16", test_fp16);
  g_test_add_func("/util/bf16", test_bf16);
  g_test_add_func("/util/format-bytes", test_format_bytes);
  g_test_add_func("/util/error", test_error);
  return g_test_run();
}
