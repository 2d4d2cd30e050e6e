/* pretokenize.c — the split regexes that byte-level BPE tokenizers run
 * before merging, chosen by tokenizer.ggml.pre.
 *
 * The patterns are those of the models' Hugging Face tokenizer.json files.
 * The case-insensitive contraction group (?i:'s|'t|…) is written with
 * explicit character pairs ('[sS]…), as llama.cpp does: under Unicode case
 * folding (?i) would also let "'ſ" (long s) and the Kelvin sign match.
 *
 * Matching uses PCRE2 with UTF + UCP so that \p{L}, \p{N} and \s follow
 * Unicode properties, JIT-compiled where the platform allows it (some
 * hardened systems forbid executable memory: then the interpreter runs).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "util.h"
#include "vocab-private.h"

#include <stdlib.h>
#include <string.h>

/* GPT-2 (tokenizer.json of gpt2 and the llama.cpp default). */
static const char PATTERN_GPT2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Llama 3: digits in groups of up to three. */
static const char PATTERN_LLAMA3[] =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Qwen2 (also DeepSeek-R1-Distill-Qwen): like Llama 3 but single digits. */
static const char PATTERN_QWEN2[] =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
    "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct still_pretok {
  still_pre_type type;
  pcre2_code *code;
  bool jit;
};

still_pre_type still_pretok_type_from_name(const char *name, bool *known)
{
  static const struct {
    const char *name;
    still_pre_type type;
  } names[] = {
      {"qwen2", STILL_PRE_QWEN2},     {"deepseek-r1-qwen", STILL_PRE_QWEN2}, {"qwen2.5", STILL_PRE_QWEN2},
      {"qwen-2.5", STILL_PRE_QWEN2},  {"llama-bpe", STILL_PRE_LLAMA3},       {"llama3", STILL_PRE_LLAMA3},
      {"llama-v3", STILL_PRE_LLAMA3}, {"default", STILL_PRE_DEFAULT},        {"gpt2", STILL_PRE_DEFAULT},
      {"gpt-2", STILL_PRE_DEFAULT},
  };
  *known = true;
  if (!name || !*name) return STILL_PRE_DEFAULT;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(name, names[i].name) == 0) return names[i].type;
  *known = false;
  return STILL_PRE_DEFAULT;
}

still_status still_pretok_new(still_pre_type type, still_pretok **out, still_error *err)
{
  return still_pretok_new_ex(type, true, out, err);
}

still_status still_pretok_new_ex(still_pre_type type, bool allow_jit, still_pretok **out, still_error *err)
{
  *out = NULL;
  const char *pattern = type == STILL_PRE_QWEN2 ? PATTERN_QWEN2 : type == STILL_PRE_LLAMA3 ? PATTERN_LLAMA3 : PATTERN_GPT2;
  int errcode = 0;
  PCRE2_SIZE erroff = 0;
  pcre2_code *code =
      pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &errcode, &erroff, NULL);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(errcode, msg, sizeof msg);
    return still_set_error(err, STILL_ERR_UNSUPPORTED,
                           "the text-splitting pattern of the tokenizer could not be compiled (%s at %zu)",
                           (const char *)msg, (size_t)erroff);
  }
  still_pretok *p = calloc(1, sizeof *p);
  if (!p) {
    pcre2_code_free(code);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory while setting up the tokenizer");
  }
  p->type = type;
  p->code = code;
  uint32_t have_jit = 0;
  if (allow_jit && pcre2_config(PCRE2_CONFIG_JIT, &have_jit) >= 0 && have_jit)
    p->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0; /* else: the interpreter */
  *out = p;
  return STILL_OK;
}

void still_pretok_free(still_pretok *p)
{
  if (!p) return;
  pcre2_code_free(p->code);
  free(p);
}

bool still_pretok_uses_jit(const still_pretok *p) { return p && p->jit; }

/* Replaces every byte that is not part of valid UTF-8 by '#', a character
 * in the same classes as U+FFFD for all our patterns (not a letter, digit,
 * space or apostrophe). The byte count stays the same, so offsets found in
 * the copy index the original text, whose raw bytes become the pieces. */
static char *sanitized_copy(const char *text, size_t len)
{
  char *copy = malloc(len ? len : 1);
  if (!copy) return NULL;
  size_t i = 0;
  while (i < len) {
    size_t l = still_utf8_seq_len(text + i, len - i);
    if (l == 0) {
      copy[i++] = '#';
    } else {
      memcpy(copy + i, text + i, l);
      i += l;
    }
  }
  return copy;
}

/* Length of the UTF-8 character at s (1 for a byte that starts none). */
static size_t char_len(const char *s, size_t n)
{
  size_t l = still_utf8_seq_len(s, n);
  return l ? l : 1;
}

still_status still_pretok_split(const still_pretok *p, const char *text, size_t len, still_pretok_piece_fn fn,
                                void *user, still_error *err)
{
  if (len == 0) return STILL_OK;
  char *copy = NULL;
  const char *subject = text;
  if (!still_utf8_valid(text, len)) {
    copy = sanitized_copy(text, len);
    if (!copy) return still_set_error(err, STILL_ERR_NOMEM, "out of memory while tokenizing");
    subject = copy;
  }

  pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->code, NULL);
  pcre2_match_context *mctx = NULL;
  pcre2_jit_stack *jstack = NULL;
  if (!md) {
    free(copy);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory while tokenizing");
  }

  size_t pos = 0;
  while (pos < len) {
    int rc;
    if (p->jit)
      rc = pcre2_jit_match(p->code, (PCRE2_SPTR)subject, len, pos, 0, md, mctx);
    else
      rc = pcre2_match(p->code, (PCRE2_SPTR)subject, len, pos, PCRE2_NO_UTF_CHECK, md, mctx);

    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !mctx) {
      /* Very long runs of whitespace need more than the default 32 KiB JIT
       * stack; give this call a bigger one and try again. */
      mctx = pcre2_match_context_create(NULL);
      jstack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, NULL);
      if (mctx && jstack) {
        pcre2_jit_stack_assign(mctx, NULL, jstack);
        continue;
      }
    }
    if (rc == PCRE2_ERROR_NOMATCH) {
      fn(user, text + pos, len - pos); /* cannot happen with our patterns: keep the rest whole */
      break;
    }
    size_t start, end;
    if (rc < 0) {
      /* A resource limit of the regex engine (pathological input): take one
       * character as its own piece and go on, rather than failing. */
      start = pos;
      end = pos + char_len(subject + pos, len - pos);
    } else {
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      start = ov[0];
      end = ov[1];
      if (end <= start) end = start + char_len(subject + start, len - start); /* no empty pieces */
      if (end > len) end = len;
    }
    if (start > pos) fn(user, text + pos, start - pos); /* a gap the pattern skipped */
    fn(user, text + start, end - start);
    pos = end;
  }

  pcre2_match_data_free(md);
  if (mctx) pcre2_match_context_free(mctx);
  if (jstack) pcre2_jit_stack_free(jstack);
  free(copy);
  return STILL_OK;
}
