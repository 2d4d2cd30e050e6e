/* chat.c — the public chat rendering entry points: the model's own template
 * family (recognised from tokenizer.chat_template) with its BOS/EOS texts. */
#include "chat-template.h"
#include "model.h"
#include "tokenizer/vocab.h"

static const char *special_text(const still_model *m, int32_t id)
{
  if (!m->vocab || id < 0 || id >= still_vocab_n_tokens(m->vocab)) return NULL;
  return still_vocab_token_text(m->vocab, id);
}

char *still_chat_render(const still_model *m, const still_message *msgs, size_t n, bool add_generation_prompt)
{
  if (!m) return NULL;
  still_template_family f = still_template_detect(m->chat_template, NULL);
  const char *bos = m->vocab ? special_text(m, still_vocab_bos(m->vocab)) : NULL;
  const char *eos = m->vocab ? special_text(m, still_vocab_eos(m->vocab)) : NULL;
  return still_template_render(f, msgs, n, add_generation_prompt, bos, eos);
}

bool still_chat_starts_in_think(const still_model *m)
{
  return m && still_template_starts_in_think(still_template_detect(m->chat_template, NULL));
}
