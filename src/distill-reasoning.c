/* distill-reasoning.c — split a stream into reasoning and answer.
 *
 * The DeepSeek-R1 distills are prompted with "<｜Assistant｜><think>\n", so
 * their output starts inside the reasoning and often never writes <think>:
 * everything before the first </think> is reasoning. R1-0528 and Qwen3 write
 * the <think> themselves. The tags arrive cut across token chunks ("</th" +
 * "ink>"), so a possible tag prefix at the end of the buffer is held back.
 */
#include "config.h"

#include <string.h>

#include "distill-reasoning.h"

#define OPEN_TAG "<think>"
#define CLOSE_TAG "</think>"

struct _DistillReasoningSplit {
  DistillReasoningState state;
  GString *pending;          /* text not decided yet (a possible tag prefix) */
  gboolean may_open;         /* a leading <think> is still possible (and is dropped) */
  gboolean reasoning_started;/* non-blank reasoning was emitted */
  gboolean answer_started;   /* non-blank answer was emitted */
};

DistillReasoningSplit *distill_reasoning_split_new(gboolean starts_in_think)
{
  DistillReasoningSplit *self = g_new0(DistillReasoningSplit, 1);
  self->state = starts_in_think ? DISTILL_REASONING_THINKING : DISTILL_REASONING_START;
  self->pending = g_string_new(NULL);
  self->may_open = TRUE;
  return self;
}

void distill_reasoning_split_free(DistillReasoningSplit *self)
{
  if (!self) return;
  g_string_free(self->pending, TRUE);
  g_free(self);
}

DistillReasoningState distill_reasoning_split_get_state(DistillReasoningSplit *self)
{
  return self->state;
}

static gboolean is_blank(char c)
{
  return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static gsize blank_prefix(const char *p, gsize n)
{
  gsize i = 0;
  while (i < n && is_blank(p[i])) i++;
  return i;
}

/* Append p[0..n) to out, leaving out blank space before the first visible character. */
static void emit(GString *out, gboolean *started, const char *p, gsize n)
{
  if (!*started) {
    gsize skip = blank_prefix(p, n);
    p += skip;
    n -= skip;
    if (n == 0) return;
    *started = TRUE;
  }
  if (out) g_string_append_len(out, p, (gssize)n);
}

/* Is p[0..n) (n < strlen(tag)) the beginning of tag? */
static gboolean is_tag_prefix(const char *p, gsize n, const char *tag)
{
  return n < strlen(tag) && strncmp(p, tag, n) == 0;
}

/* Length of the longest end of p[0..n) that is a proper prefix of tag. */
static gsize tag_prefix_at_end(const char *p, gsize n, const char *tag)
{
  gsize t = strlen(tag);
  for (gsize k = MIN(n, t - 1); k > 0; k--)
    if (strncmp(p + n - k, tag, k) == 0) return k;
  return 0;
}

/* A leading "<think>" (after blank space): returns TRUE when it was consumed
 * or more text is needed to decide (*hold), FALSE when there is none. */
static gboolean take_open_tag(DistillReasoningSplit *self, gboolean *hold)
{
  GString *s = self->pending;
  gsize ws = blank_prefix(s->str, s->len);
  const char *rest = s->str + ws;
  gsize n = s->len - ws;
  *hold = FALSE;
  if (n == 0 || is_tag_prefix(rest, n, OPEN_TAG)) {
    *hold = TRUE;
    return TRUE;
  }
  if (n >= strlen(OPEN_TAG) && strncmp(rest, OPEN_TAG, strlen(OPEN_TAG)) == 0) {
    g_string_erase(s, 0, (gssize)(ws + strlen(OPEN_TAG)));
    self->may_open = FALSE;
    return TRUE;
  }
  self->may_open = FALSE;
  return FALSE;
}

static void process(DistillReasoningSplit *self, GString *reasoning, GString *answer)
{
  GString *s = self->pending;
  for (;;) {
    switch (self->state) {
    case DISTILL_REASONING_START: {
      gboolean hold;
      if (take_open_tag(self, &hold)) {
        if (hold) return;
        self->state = DISTILL_REASONING_THINKING;
      } else {
        self->state = DISTILL_REASONING_ANSWER;
      }
      break;
    }
    case DISTILL_REASONING_THINKING: {
      if (self->may_open) {
        /* a redundant <think> after a prompt that opened the block: drop it */
        gboolean hold;
        take_open_tag(self, &hold);
        if (hold) return;
      }
      const char *close = strstr(s->str, CLOSE_TAG);
      if (close) {
        gsize at = (gsize)(close - s->str);
        emit(reasoning, &self->reasoning_started, s->str, at);
        g_string_erase(s, 0, (gssize)(at + strlen(CLOSE_TAG)));
        self->state = DISTILL_REASONING_ANSWER;
        break;
      }
      gsize keep = tag_prefix_at_end(s->str, s->len, CLOSE_TAG);
      emit(reasoning, &self->reasoning_started, s->str, s->len - keep);
      g_string_erase(s, 0, (gssize)(s->len - keep));
      return;
    }
    case DISTILL_REASONING_ANSWER:
      emit(answer, &self->answer_started, s->str, s->len);
      g_string_truncate(s, 0);
      return;
    }
  }
}

void distill_reasoning_split_feed(DistillReasoningSplit *self, const char *text, gssize len, GString *reasoning,
                                  GString *answer)
{
  g_return_if_fail(self != NULL);
  if (!text) return;
  g_string_append_len(self->pending, text, len < 0 ? (gssize)strlen(text) : len);
  process(self, reasoning, answer);
}

void distill_reasoning_split_finish(DistillReasoningSplit *self, GString *reasoning, GString *answer)
{
  g_return_if_fail(self != NULL);
  GString *s = self->pending;
  if (self->state == DISTILL_REASONING_THINKING) {
    /* an unfinished reasoning (stopped, or out of tokens): a held "</thi" or
     * a lone "<thi" is text of it */
    emit(reasoning, &self->reasoning_started, s->str, s->len);
  } else {
    /* START: blank space or the beginning of "<think>" that never completed */
    emit(answer, &self->answer_started, s->str, s->len);
    if (self->state == DISTILL_REASONING_START) self->state = DISTILL_REASONING_ANSWER;
  }
  g_string_truncate(s, 0);
}

static char *chomp_steal(GString *s)
{
  while (s->len > 0 && is_blank(s->str[s->len - 1])) g_string_truncate(s, s->len - 1);
  return g_string_free(s, FALSE);
}

void distill_reasoning_parse(const char *text, gboolean starts_in_think, char **reasoning, char **answer)
{
  g_autoptr(DistillReasoningSplit) split = distill_reasoning_split_new(starts_in_think);
  GString *r = g_string_new(NULL), *a = g_string_new(NULL);
  distill_reasoning_split_feed(split, text ? text : "", -1, r, a);
  distill_reasoning_split_finish(split, r, a);
  char *rs = chomp_steal(r), *as = chomp_steal(a);
  if (reasoning) *reasoning = rs;
  else g_free(rs);
  if (answer) *answer = as;
  else g_free(as);
}
