/* vocab.h — tokenizers read from GGUF metadata:
 *   tokenizer.ggml.model = "gpt2"  → byte-level BPE, pre-tokenizer from tokenizer.ggml.pre
 *                                    (deepseek-r1-qwen / qwen2, llama-bpe, default gpt2)
 *   tokenizer.ggml.model = "llama" → SentencePiece BPE with byte fallback
 * Special tokens follow llama.cpp: USER_DEFINED tokens (e.g. <think>) are
 * always matched in text; CONTROL tokens only when parse_special is on.
 */
#ifndef STILL_VOCAB_H
#define STILL_VOCAB_H

#include "../gguf.h"
#include "still.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  STILL_VOCAB_SPM = 1, /* "llama" */
  STILL_VOCAB_BPE = 2, /* "gpt2" */
} still_vocab_kind;

/* llama.cpp token types (tokenizer.ggml.token_type) */
typedef enum {
  STILL_TOKEN_UNDEFINED = 0,
  STILL_TOKEN_NORMAL = 1,
  STILL_TOKEN_UNKNOWN = 2,
  STILL_TOKEN_CONTROL = 3,
  STILL_TOKEN_USER_DEFINED = 4,
  STILL_TOKEN_UNUSED = 5,
  STILL_TOKEN_BYTE = 6,
} still_token_type;

typedef struct still_vocab still_vocab;

/* Loads from a gguf_file (a vocab-only file is fine). The vocab copies what
 * it needs, so the gguf_file may be closed afterwards. */
still_status still_vocab_load(const gguf_file *f, still_vocab **out, still_error *err);
void still_vocab_free(still_vocab *v);

still_vocab_kind still_vocab_get_kind(const still_vocab *v);
/* The tokenizer.ggml.pre name when it is known ("qwen2", "deepseek-r1-qwen",
 * "llama-bpe", …), "default" when absent, and for a name we do not know
 * (split like GPT-2 then) a note: "default (unknown pre-tokenizer \"NAME\")". */
const char *still_vocab_pre_name(const still_vocab *v);
int32_t still_vocab_n_tokens(const still_vocab *v);
/* -1 when the model has none (absent, or out of range like 0xFFFFFFFF). */
int32_t still_vocab_bos(const still_vocab *v);
int32_t still_vocab_eos(const still_vocab *v);
int32_t still_vocab_eot(const still_vocab *v);
int32_t still_vocab_pad(const still_vocab *v);
/* tokenizer.ggml.add_bos_token, or the tokenizer's default when absent
 * (llama.cpp's: SPM yes, BPE no except the llama-bpe pre-tokenizer); false
 * when the model has no BOS token. */
bool still_vocab_add_bos(const still_vocab *v);
bool still_vocab_add_eos(const still_vocab *v);
/* tokenizer.ggml.add_space_prefix (default: SPM yes, BPE no). */
bool still_vocab_add_space_prefix(const still_vocab *v);
/* Merges in use (BPE; 0 for SPM). */
int64_t still_vocab_n_merges(const still_vocab *v);
still_token_type still_vocab_token_type(const still_vocab *v, int32_t id);
/* The raw vocabulary string of a token (byte-level encoded for BPE, ▁ for SPM). */
const char *still_vocab_token_text(const still_vocab *v, int32_t id);
/* True for tokens that end generation (EOS, EOT, and other end-of-generation controls like <|im_end|>). */
bool still_vocab_is_eog(const still_vocab *v, int32_t id);
/* Token id of an exact vocabulary string, -1 if none. */
int32_t still_vocab_find(const still_vocab *v, const char *text, size_t len);

/* Tokenize len bytes of text. Writes at most cap ids to out and returns the
 * number of tokens the text needs (call again with a bigger buffer when it is
 * larger than cap), or -1 on error (err filled). Invalid UTF-8 is tokenized
 * as its raw bytes (BPE byte-level / SPM byte fallback), never rejected.
 * add_bos is llama.cpp's add_special: it adds the BOS (and EOS) tokens that
 * the model asks for (still_vocab_add_bos/_add_eos), nothing otherwise.
 * parse_special: CONTROL tokens written in the text (<｜User｜>, <|im_start|>)
 * become their ids; USER_DEFINED ones (<think>) always do. Thread-safe. */
int64_t still_vocab_tokenize(const still_vocab *v, const char *text, size_t len, bool add_bos, bool parse_special,
                             int32_t *out, int64_t cap, still_error *err);

/* The bytes a token stands for (byte-level decoding for BPE, ▁→space and
 * <0xXX> bytes for SPM). Control tokens give "" unless render_special.
 * Returns the number of bytes (may be > cap: then nothing complete was written). */
int32_t still_vocab_piece(const still_vocab *v, int32_t id, bool render_special, char *buf, int32_t cap);

/* Streaming detokenizer: feeds tokens one at a time and returns the text
 * that is complete UTF-8 so far; a partial UTF-8 sequence is held back until
 * the next token completes it (or flushed as U+FFFD by _flush). */
typedef struct still_detok still_detok;
still_detok *still_detok_new(const still_vocab *v, bool render_special);
/* Returns a pointer to NUL-terminated text valid until the next call; *len set. */
const char *still_detok_push(still_detok *d, int32_t id, size_t *len);
const char *still_detok_flush(still_detok *d, size_t *len);
void still_detok_free(still_detok *d);

/* Whole-sequence detokenize into a malloc'd NUL-terminated string (invalid
 * UTF-8 → U+FFFD), NULL when out of memory. As llama.cpp's detokenizer, with
 * add_space_prefix (SPM's default) the first token loses one leading space;
 * the streaming detokenizer and still_vocab_piece keep it. */
char *still_vocab_detokenize(const still_vocab *v, const int32_t *ids, size_t n, bool render_special);

#endif /* STILL_VOCAB_H */
