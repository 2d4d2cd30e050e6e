/* chat-template.h — native renderers for the chat templates of the R1
 * family, chosen by recognising tokenizer.chat_template. Output equals the
 * jinja render (transformers' apply_chat_template settings: trim_blocks,
 * lstrip_blocks, only messages / add_generation_prompt / bos_token /
 * eos_token defined) byte for byte.
 */
#ifndef STILL_CHAT_TEMPLATE_H
#define STILL_CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "still.h"

typedef enum {
  STILL_TEMPLATE_CHATML = 0,     /* <|im_start|>role\n…<|im_end|>\n (also the fallback) */
  STILL_TEMPLATE_R1_DISTILL = 1, /* DeepSeek-R1-Distill (Qwen and Llama variants) */
  STILL_TEMPLATE_R1_0528 = 2,    /* DeepSeek's template as shipped with R1-0528-Qwen3-8B */
  STILL_TEMPLATE_QWEN3 = 3,      /* Qwen3 ChatML with <think> */
  STILL_TEMPLATE_LLAMA3 = 4,     /* <|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|> */
} still_template_family;

/* still_message is declared in still.h (the app renders chats through still_chat_render). */

/* Recognise the family from the template text by its distinctive markers, so
 * edited copies (llama.cpp, Ollama, unsloth, …) map to the same family.
 * *known (may be NULL) is set to false when the text is NULL/empty or not
 * recognised; the family is then CHATML and the caller should warn. */
still_template_family still_template_detect(const char *template_text, bool *known);

/* "chatml", "r1-distill", "r1-0528", "qwen3", "llama3"; "unknown" for values outside the enum. */
const char *still_template_family_name(still_template_family f);

/* True when the generation prompt of this family already opens the reasoning
 * block (R1 distill: it ends with "<｜Assistant｜><think>\n"), so the streamed
 * text starts inside <think>. For the other families the model writes <think>
 * itself, if at all. */
bool still_template_starts_in_think(still_template_family f);

/* Render messages. bos/eos are the token strings passed to the template; NULL
 * means "not defined" and renders as nothing (the R1 templates print the BOS
 * text themselves, Llama-3 puts it before the first message; the others do not
 * use it). The DeepSeek end-of-sentence and Qwen/Llama turn markers are literal
 * in the templates, so eos is currently unused (kept for templates that print it).
 *   R1 distill: only the last system message is kept (as the template does);
 *     assistant turns keep only the text after their last "</think>"; the
 *     generation prompt is "<｜Assistant｜><think>\n".
 *   R1 0528: system messages joined with "\n\n"; each user turn is followed by
 *     "<｜Assistant｜>"; the generation prompt adds "<｜Assistant｜>" only when the
 *     last turn was not a user turn (no "<think>").
 *   Qwen3: reasoning of assistant turns after the last user query is re-wrapped in
 *     "<think>\n…\n</think>\n\n", older reasoning is dropped (enable_thinking undefined).
 *   Llama-3: Llama-3 instruct layout, content trimmed (Python str.strip()).
 *   ChatML: every message as "<|im_start|>role\ncontent<|im_end|>\n".
 * Returns a malloc'd NUL-terminated string (caller frees), NULL on out of memory
 * or an unknown family value. */
char *still_template_render(still_template_family f, const still_message *msgs, size_t n,
                            bool add_generation_prompt, const char *bos, const char *eos);

#endif /* STILL_CHAT_TEMPLATE_H */
