/* vocab-private.h — what the tokenizer files share with each other (not
 * part of the engine API; only the engine/tokenizer sources include it). */
#ifndef STILL_VOCAB_PRIVATE_H
#define STILL_VOCAB_PRIVATE_H

#include "vocab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- pre-tokenizer (pretokenize.c) ------------------------------------- */

typedef enum {
  STILL_PRE_DEFAULT = 0, /* GPT-2 split regex */
  STILL_PRE_QWEN2,       /* qwen2, deepseek-r1-qwen */
  STILL_PRE_LLAMA3,      /* llama-bpe */
} still_pre_type;

/* Which pre-tokenizer a tokenizer.ggml.pre name selects; *known is false
 * when the name is not recognised (the default split is used then). */
still_pre_type still_pretok_type_from_name(const char *name, bool *known);

typedef struct still_pretok still_pretok;

/* Compiles the split regex (JIT when the platform allows it). */
still_status still_pretok_new(still_pre_type type, still_pretok **out, still_error *err);
/* The same, optionally without JIT (to test the interpreter path). */
still_status still_pretok_new_ex(still_pre_type type, bool allow_jit, still_pretok **out, still_error *err);
void still_pretok_free(still_pretok *p);
bool still_pretok_uses_jit(const still_pretok *p);

/* Called once per pre-token, in order; the pieces cover the whole input. */
typedef void (*still_pretok_piece_fn)(void *user, const char *piece, size_t len);

/* Splits len bytes of text into pre-tokens. Invalid UTF-8 is allowed: its
 * bytes are split as if they were a symbol character and end up in the
 * pieces unchanged. Returns STILL_OK or an error (out of memory, regex
 * engine failure). Thread-safe: the match state is local to the call. */
still_status still_pretok_split(const still_pretok *p, const char *text, size_t len, still_pretok_piece_fn fn,
                                void *user, still_error *err);

/* ---- the vocabulary (vocab.c) ------------------------------------------ */

/* One merge of the BPE table: (left id, right id) → result id, by rank. */
typedef struct {
  uint64_t key; /* (uint64)left << 32 | right; UINT64_MAX = empty slot */
  int32_t rank;
  int32_t result;
} still_merge_slot;

struct still_vocab {
  still_vocab_kind kind;
  still_pre_type pre;
  char *pre_name;

  int32_t n_tokens;
  char *text_pool;      /* every token's text, each followed by a NUL */
  uint32_t *text_off;   /* [n_tokens] */
  uint32_t *text_len;   /* [n_tokens] */
  float *scores;        /* [n_tokens] */
  uint8_t *types;       /* [n_tokens] still_token_type (after llama.cpp's fix-ups) */
  uint8_t *is_eog;      /* [n_tokens] */

  /* Decoded pieces (what each token stands for, special tokens' raw text
   * included) for detokenizing. */
  char *piece_pool;
  uint32_t *piece_off; /* [n_tokens] */
  uint32_t *piece_len; /* [n_tokens] */

  /* text → id: open addressing, -1 = empty. */
  int32_t *hash_ids;
  uint32_t hash_mask;

  /* BPE merges: open addressing on the id pair. */
  still_merge_slot *merges;
  uint64_t merge_mask;
  int64_t n_merges;

  /* BPE: token of each byte's byte-level character. SPM: the <0xXX> token (or -1). */
  int32_t byte_token[256];

  int32_t bos, eos, eot, eom, unk, pad;
  bool add_bos, add_eos, add_space_prefix, ignore_merges;

  /* Tokens split out of text before tokenizing (CONTROL, USER_DEFINED,
   * UNKNOWN), longest text first; special_by_byte[b] lists those whose text
   * starts with byte b (indexes into specials). */
  int32_t *specials;
  int32_t n_specials;
  int32_t *special_by_byte_start; /* [257]: specials_sorted_by_byte[start[b] .. start[b+1]) */
  int32_t *specials_by_byte;

  still_pretok *pretok;

  /* SPM: no token has ▁ after another character, so merges never cross the
   * start of a word and each word can be tokenized (and cached) alone. */
  bool spm_words_independent;
};

/* Token id of exact text, -1 if none (internal, no argument checks). */
int32_t still_vocab_lookup(const still_vocab *v, const char *text, size_t len);

/* Growing list of output ids that counts past the caller's capacity. */
typedef struct {
  int32_t *out;
  int64_t cap;
  int64_t n;
} still_tok_out;

static inline void still_tok_push(still_tok_out *o, int32_t id)
{
  if (o->n < o->cap) o->out[o->n] = id;
  o->n++;
}

/* ---- word cache (bpe.c) -------------------------------------------------
 * word bytes → token ids, kept for the length of one tokenize call (so the
 * vocab stays read-only and shareable between threads). */

#define STILL_WCACHE_MIN_TEXT 256 /* calls on shorter text do without */
#define STILL_WCACHE_MAX_WORD 64  /* longer words are rare: not cached */

typedef struct {
  uint32_t hash;
  uint32_t key_off; /* into key_pool; UINT32_MAX = empty */
  uint32_t ids_off; /* into id_pool */
  uint16_t key_len;
  uint16_t n_ids;
} still_wcache_slot;

typedef struct {
  still_wcache_slot *slots;
  uint32_t n_entries;
  char *key_pool;
  size_t key_used, key_cap;
  int32_t *id_pool;
  size_t id_used, id_cap;
} still_wcache;

uint32_t still_hash_bytes(const char *s, size_t n);
bool still_wcache_init(still_wcache *c);
void still_wcache_free(still_wcache *c);
/* The slot holding word w, or the empty slot where it would go (key_off == UINT32_MAX). */
still_wcache_slot *still_wcache_find(still_wcache *c, const char *w, size_t n, uint32_t h);
/* Fills the empty slot s; quietly does nothing when the cache is full or memory is short. */
void still_wcache_add(still_wcache *c, still_wcache_slot *s, const char *w, size_t n, uint32_t h, const int32_t *ids,
                      size_t n_ids);

/* ---- BPE (bpe.c) ------------------------------------------------------- */

/* GPT-2 byte-level mapping: byte → code point, and back (-1 if none). */
uint32_t still_bpe_byte_to_cp(uint8_t b);
int still_bpe_cp_to_byte(uint32_t cp);

/* Builds the merge table from tokenizer.ggml.merges strings. */
still_status still_bpe_build_merges(still_vocab *v, const gguf_str *merges, uint64_t n, still_error *err);

/* Tokenizes one raw-text fragment (pre-tokenizer split + merges). */
still_status still_bpe_tokenize(const still_vocab *v, const char *text, size_t len, still_tok_out *out,
                                still_error *err);

/* ---- SentencePiece (spm.c) --------------------------------------------- */

/* Precomputes what the SPM tokenizer needs to know about the vocabulary. */
void still_spm_prepare(still_vocab *v);

/* Tokenizes one raw-text fragment; prefix_space adds the leading ▁ of the
 * llama.cpp rule. */
still_status still_spm_tokenize(const still_vocab *v, const char *text, size_t len, bool prefix_space,
                                still_tok_out *out, still_error *err);

/* ---- pieces (detok.c) -------------------------------------------------- */

/* Fills piece_pool/piece_off/piece_len from the token texts and types. */
still_status still_vocab_build_pieces(still_vocab *v, still_error *err);

#endif /* STILL_VOCAB_PRIVATE_H */
