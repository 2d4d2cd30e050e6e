/* test-reasoning.c — splitting R1-style streams into reasoning and answer:
 * whole, cut into chunks at every possible place, with and without tags. */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "distill-reasoning.h"

typedef struct {
  const char *name;
  const char *stream;
  gboolean starts_in_think;
  const char *reasoning;
  const char *answer;
} Case;

static const Case cases[] = {
  /* R1 distill: the prompt ended with "<think>\n", no opening tag in the output */
  {"r1-no-open-tag", "Okay, the user asks 2+2.\nThat is 4.\n</think>\n\nThe answer is **4**.", TRUE,
   "Okay, the user asks 2+2.\nThat is 4.", "The answer is **4**."},
  /* R1 distill that still writes a redundant <think> */
  {"r1-redundant-open", "<think>\nHmm.\n</think>\n\nYes.", TRUE, "Hmm.", "Yes."},
  /* the model skipped thinking: "<think>\n\n</think>" */
  {"r1-empty-think", "\n\n</think>\n\nHello!", TRUE, "", "Hello!"},
  /* stopped while thinking: all reasoning */
  {"r1-unfinished", "Let me think about </thi", TRUE, "Let me think about </thi", ""},
  /* 0528 / Qwen3 style: the model opens the block itself */
  {"0528-style", "<think>\nFirst, recall the formula.\n</think>\n\nUse E = mc².", FALSE,
   "First, recall the formula.", "Use E = mc²."},
  {"0528-leading-space", "\n  <think>x</think>y", FALSE, "x", "y"},
  /* a model without reasoning */
  {"no-think", "Once upon a time, there was a cat.", FALSE, "", "Once upon a time, there was a cat."},
  /* a "<think>" later in an answer is text, not a block */
  {"think-not-at-start", "Use the <think> tag like this: <think>a</think>.", FALSE, "",
   "Use the <think> tag like this: <think>a</think>."},
  /* something that looks like the start of the tag but is not */
  {"not-a-tag", "<thinking cap on>", FALSE, "", "<thinking cap on>"},
  {"lone-angle", "<", FALSE, "", "<"},
  /* only the first </think> closes; a second one is answer text */
  {"two-closes", "a</think>b</think>c", TRUE, "a", "b</think>c"},
  /* multi-byte text around the tags */
  {"utf8", "想一想……</think>答案是四。", TRUE, "想一想……", "答案是四。"},
  /* stopped in the middle of an opening tag: nothing decided, text is answer */
  {"half-open-tag", "<thi", FALSE, "", "<thi"},
};

static void run_whole(const Case *c)
{
  g_autofree char *r = NULL, *a = NULL;
  distill_reasoning_parse(c->stream, c->starts_in_think, &r, &a);
  g_assert_cmpstr(r, ==, c->reasoning);
  g_assert_cmpstr(a, ==, c->answer);
}

static char *chomp(GString *s)
{
  while (s->len > 0 && strchr(" \n\t\r", s->str[s->len - 1])) g_string_truncate(s, s->len - 1);
  return g_string_free(s, FALSE);
}

/* Feed the stream in pieces of `step` bytes (byte cuts, even inside UTF-8). */
static void run_chunked(const Case *c, gsize step)
{
  g_autoptr(DistillReasoningSplit) split = distill_reasoning_split_new(c->starts_in_think);
  GString *r = g_string_new(NULL), *a = g_string_new(NULL);
  gsize n = strlen(c->stream);
  for (gsize i = 0; i < n; i += step)
    distill_reasoning_split_feed(split, c->stream + i, (gssize)MIN(step, n - i), r, a);
  distill_reasoning_split_finish(split, r, a);
  g_autofree char *rs = chomp(r), *as = chomp(a);
  g_assert_cmpstr(rs, ==, c->reasoning);
  g_assert_cmpstr(as, ==, c->answer);
}

/* Two cuts at every pair of positions: every way a tag can be split in three. */
static void run_every_split(const Case *c)
{
  gsize n = strlen(c->stream);
  for (gsize i = 0; i <= n; i++) {
    for (gsize j = i; j <= n; j++) {
      g_autoptr(DistillReasoningSplit) split = distill_reasoning_split_new(c->starts_in_think);
      GString *r = g_string_new(NULL), *a = g_string_new(NULL);
      distill_reasoning_split_feed(split, c->stream, (gssize)i, r, a);
      distill_reasoning_split_feed(split, c->stream + i, (gssize)(j - i), r, a);
      distill_reasoning_split_feed(split, c->stream + j, (gssize)(n - j), r, a);
      distill_reasoning_split_finish(split, r, a);
      g_autofree char *rs = chomp(r), *as = chomp(a);
      if (g_strcmp0(rs, c->reasoning) != 0 || g_strcmp0(as, c->answer) != 0)
        g_error("%s cut at %zu and %zu: reasoning '%s' answer '%s'", c->name, i, j, rs, as);
    }
  }
}

static void test_case(gconstpointer data)
{
  const Case *c = data;
  run_whole(c);
  for (gsize step = 1; step <= 9; step++) run_chunked(c, step);
  run_every_split(c);
}

/* The state tells the UI when the reasoning ends (for "Thought for N s"). */
static void test_state(void)
{
  g_autoptr(DistillReasoningSplit) split = distill_reasoning_split_new(TRUE);
  g_autoptr(GString) r = g_string_new(NULL), a = g_string_new(NULL);
  g_assert_cmpint(distill_reasoning_split_get_state(split), ==, DISTILL_REASONING_THINKING);
  distill_reasoning_split_feed(split, "step one</th", -1, r, a);
  g_assert_cmpint(distill_reasoning_split_get_state(split), ==, DISTILL_REASONING_THINKING);
  g_assert_cmpstr(r->str, ==, "step one"); /* the tag prefix is held back */
  distill_reasoning_split_feed(split, "ink>", -1, r, a);
  g_assert_cmpint(distill_reasoning_split_get_state(split), ==, DISTILL_REASONING_ANSWER);
  distill_reasoning_split_feed(split, "\n\nDone", -1, r, a);
  g_assert_cmpstr(r->str, ==, "step one");
  g_assert_cmpstr(a->str, ==, "Done");

  g_autoptr(DistillReasoningSplit) plain = distill_reasoning_split_new(FALSE);
  g_assert_cmpint(distill_reasoning_split_get_state(plain), ==, DISTILL_REASONING_START);
  distill_reasoning_split_feed(plain, "  <thi", -1, r, a);
  g_assert_cmpint(distill_reasoning_split_get_state(plain), ==, DISTILL_REASONING_START);
  distill_reasoning_split_feed(plain, "nk>", -1, r, a);
  g_assert_cmpint(distill_reasoning_split_get_state(plain), ==, DISTILL_REASONING_THINKING);

  g_autoptr(DistillReasoningSplit) none = distill_reasoning_split_new(FALSE);
  distill_reasoning_split_feed(none, "Hi", -1, NULL, NULL);
  g_assert_cmpint(distill_reasoning_split_get_state(none), ==, DISTILL_REASONING_ANSWER);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *path = g_strdup_printf("/reasoning/split/%s", cases[i].name);
    g_test_add_data_func(path, &cases[i], test_case);
  }
  g_test_add_func("/reasoning/state", test_state);
  return g_test_run();
}
