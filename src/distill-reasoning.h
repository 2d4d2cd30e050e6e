/* distill-reasoning.h — split a reasoning model's output into the reasoning
 * (the <think> block) and the answer, as it streams or all at once. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  DISTILL_REASONING_START,    /* nothing decided yet: a <think> may still open */
  DISTILL_REASONING_THINKING, /* inside the reasoning block */
  DISTILL_REASONING_ANSWER,   /* after </think>, or no reasoning at all */
} DistillReasoningState;

typedef struct _DistillReasoningSplit DistillReasoningSplit;

/* starts_in_think: the generation prompt already opened the block (R1
 * distills end it with "<think>\n"), so everything up to the first </think>
 * is reasoning even when no <think> is written. Otherwise a <think>…</think>
 * block at the very start (after blank space) is reasoning, anything else is
 * the answer. */
DistillReasoningSplit *distill_reasoning_split_new(gboolean starts_in_think);
void distill_reasoning_split_free(DistillReasoningSplit *self);

/* Feed the next chunk of the stream (tags may be cut anywhere, even inside a
 * UTF-8 character). What is now known to be reasoning is appended to
 * reasoning, answer text to answer (either may be NULL to drop it). Text that
 * may still turn out to be part of a tag is held back until the next call.
 * Leading blank space of the reasoning and of the answer is left out. */
void distill_reasoning_split_feed(DistillReasoningSplit *self, const char *text, gssize len, GString *reasoning,
                                  GString *answer);
/* The stream ended: release what was held back. */
void distill_reasoning_split_finish(DistillReasoningSplit *self, GString *reasoning, GString *answer);

DistillReasoningState distill_reasoning_split_get_state(DistillReasoningSplit *self);

/* The whole text at once. reasoning and answer are newly allocated (never NULL);
 * trailing blank space of the reasoning is trimmed. */
void distill_reasoning_parse(const char *text, gboolean starts_in_think, char **reasoning, char **answer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillReasoningSplit, distill_reasoning_split_free)

G_END_DECLS
