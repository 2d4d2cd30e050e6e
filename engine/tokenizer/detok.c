/* detok.c — from token ids back to text.
 *
 * Each token's piece (the bytes it stands for) is computed once at load:
 * byte-level decoding for BPE (GPT-2 mapping), ▁ → space and <0xXX> → byte
 * for SentencePiece; special tokens keep their text, which is only shown
 * when the caller asks to render specials. Pieces of byte tokens and of
 * byte-level BPE tokens may be parts of a UTF-8 character, so the streaming
 * detokenizer holds an incomplete character back until the following token
 * completes it. Text handed out is always valid UTF-8: ill-formed bytes
 * become U+FFFD, one per maximal ill-formed subpart (as Python's and the
 * W3C decoders do).
 */
#include "util.h"
#include "vocab-private.h"

#include <stdlib.h>
#include <string.h>

/* ---- pieces -------------------------------------------------------------- */

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Writes the piece of token id to dst (room for text_len bytes); returns its length. */
static size_t make_piece(const still_vocab *v, int32_t id, char *dst)
{
  const char *t = v->text_pool + v->text_off[id];
  size_t n = v->text_len[id];
  switch (v->types[id]) {
  case STILL_TOKEN_CONTROL:
  case STILL_TOKEN_UNKNOWN:
  case STILL_TOKEN_USER_DEFINED:
    memcpy(dst, t, n);
    return n;
  case STILL_TOKEN_NORMAL:
    break;
  case STILL_TOKEN_BYTE:
    if (v->kind == STILL_VOCAB_SPM) {
      if (n == 6 && t[0] == '<' && t[1] == '0' && t[2] == 'x' && t[5] == '>' && hexval(t[3]) >= 0 &&
          hexval(t[4]) >= 0) {
        dst[0] = (char)(hexval(t[3]) * 16 + hexval(t[4]));
        return 1;
      }
      memcpy(dst, t, n);
      return n;
    }
    return 0;
  default: /* UNUSED, UNDEFINED: nothing, as in llama.cpp */
    return 0;
  }

  size_t k = 0;
  if (v->kind == STILL_VOCAB_SPM) {
    for (size_t i = 0; i < n;) {
      if (i + 3 <= n && memcmp(t + i, "\xE2\x96\x81", 3) == 0) {
        dst[k++] = ' ';
        i += 3;
      } else {
        dst[k++] = t[i++];
      }
    }
    return k;
  }
  /* byte-level: each character stands for one byte; characters outside the
   * mapping (never in real vocabularies) are kept as they are */
  for (size_t i = 0; i < n;) {
    size_t l = still_utf8_seq_len(t + i, n - i);
    if (l == 0) {
      dst[k++] = t[i++];
      continue;
    }
    uint32_t cp;
    const uint8_t *u = (const uint8_t *)t + i;
    if (l == 1) cp = u[0];
    else if (l == 2) cp = (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
    else cp = 0x110000; /* 3/4-byte characters are never byte-level characters */
    int b = cp < 0x110000 ? still_bpe_cp_to_byte(cp) : -1;
    if (b >= 0) {
      dst[k++] = (char)b;
    } else {
      memcpy(dst + k, t + i, l);
      k += l;
    }
    i += l;
  }
  return k;
}

still_status still_vocab_build_pieces(still_vocab *v, still_error *err)
{
  size_t total = 0;
  for (int32_t i = 0; i < v->n_tokens; i++) total += v->text_len[i];
  v->piece_pool = malloc(total ? total : 1);
  v->piece_off = malloc((size_t)v->n_tokens * sizeof(uint32_t));
  v->piece_len = malloc((size_t)v->n_tokens * sizeof(uint32_t));
  if (!v->piece_pool || !v->piece_off || !v->piece_len)
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory while loading the vocabulary");
  size_t off = 0;
  for (int32_t i = 0; i < v->n_tokens; i++) {
    size_t n = make_piece(v, i, v->piece_pool + off); /* never longer than the token text */
    v->piece_off[i] = (uint32_t)off;
    v->piece_len[i] = (uint32_t)n;
    off += n;
  }
  return STILL_OK;
}

/* The piece of id, or NULL/0 for nothing (bad id, special not rendered). */
static const char *piece_of(const still_vocab *v, int32_t id, bool render_special, size_t *len)
{
  *len = 0;
  if (id < 0 || id >= v->n_tokens) return NULL;
  uint8_t t = v->types[id];
  if (!render_special && (t == STILL_TOKEN_CONTROL || t == STILL_TOKEN_UNKNOWN)) return NULL;
  *len = v->piece_len[id];
  return v->piece_pool + v->piece_off[id];
}

int32_t still_vocab_piece(const still_vocab *v, int32_t id, bool render_special, char *buf, int32_t cap)
{
  if (!v) return 0;
  size_t n;
  const char *p = piece_of(v, id, render_special, &n);
  if (!p || n == 0) return 0;
  if (cap < 0 || n > (size_t)cap) return (int32_t)n;
  memcpy(buf, p, n);
  return (int32_t)n;
}

/* ---- UTF-8 cleaning ------------------------------------------------------ */

typedef struct {
  char *p;
  size_t n, cap;
  bool nomem;
} strbuf;

static void sb_add(strbuf *b, const void *s, size_t n)
{
  if (b->nomem) return;
  if (b->n + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 64;
    while (nc < b->n + n + 1) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) {
      b->nomem = true;
      return;
    }
    b->p = np;
    b->cap = nc;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static const char REPLACEMENT[3] = {'\xEF', '\xBF', '\xBD'}; /* U+FFFD */

/* Appends s[0..n) to dst as valid UTF-8. With hold, a character that is
 * cut off at the end (valid so far) is left unconsumed; returns the number
 * of bytes consumed. */
static size_t utf8_clean(const char *str, size_t n, bool hold, strbuf *dst)
{
  const uint8_t *s = (const uint8_t *)str;
  size_t i = 0, run = 0; /* run: start of pending plain bytes to copy in one go */
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if (c == 0xED) { need = 2; hi = 0x9F; }
    else if (c >= 0xE1 && c <= 0xEF) need = 2;
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c == 0xF4) { need = 3; hi = 0x8F; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else need = 0; /* 80..C1, F5..FF never start a character */

    size_t k = 1;
    bool bad = need == 0;
    while (!bad && k <= need) {
      if (i + k >= n) {
        if (hold) {
          sb_add(dst, str + run, i - run);
          return i;
        }
        bad = true;
        break;
      }
      uint8_t b = s[i + k];
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
        bad = true;
        break;
      }
      k++;
    }
    if (bad) {
      sb_add(dst, str + run, i - run);
      sb_add(dst, REPLACEMENT, 3);
      i += k; /* the maximal subpart: the lead byte and the continuation bytes that were valid */
      run = i;
    } else {
      i += need + 1;
    }
  }
  sb_add(dst, str + run, n - run);
  return n;
}

char *still_vocab_detokenize(const still_vocab *v, const int32_t *ids, size_t n, bool render_special)
{
  if (!v || (!ids && n > 0)) return NULL;
  strbuf raw = {0};
  sb_add(&raw, "", 0);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *p = piece_of(v, ids[i], render_special, &len);
    /* The space added in front of the text when tokenizing (SentencePiece's
     * add_space_prefix) is removed again from the first token, as llama.cpp's
     * detokenizer does */
    if (i == 0 && v->add_space_prefix && len > 0 && p[0] == ' ') {
      p++;
      len--;
    }
    if (p) sb_add(&raw, p, len);
  }
  if (raw.nomem) {
    free(raw.p);
    return NULL;
  }
  strbuf out = {0};
  sb_add(&out, "", 0);
  utf8_clean(raw.p, raw.n, false, &out);
  free(raw.p);
  if (out.nomem) {
    free(out.p);
    return NULL;
  }
  return out.p;
}

/* ---- streaming ----------------------------------------------------------- */

struct still_detok {
  const still_vocab *v;
  bool render_special;
  char tail[4]; /* the start of a character not complete yet */
  size_t tail_n;
  strbuf work, out;
};

still_detok *still_detok_new(const still_vocab *v, bool render_special)
{
  if (!v) return NULL;
  still_detok *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->v = v;
  d->render_special = render_special;
  return d;
}

static const char *out_text(still_detok *d, size_t *len)
{
  if (d->out.nomem || !d->out.p) {
    /* out of memory: report nothing rather than a half-written string */
    d->out.nomem = false;
    d->out.n = 0;
    if (len) *len = 0;
    return "";
  }
  if (len) *len = d->out.n;
  return d->out.p;
}

const char *still_detok_push(still_detok *d, int32_t id, size_t *len)
{
  if (len) *len = 0;
  if (!d) return NULL;
  d->out.n = 0;
  sb_add(&d->out, "", 0);
  size_t plen;
  const char *p = piece_of(d->v, id, d->render_special, &plen);
  d->work.n = 0;
  sb_add(&d->work, d->tail, d->tail_n);
  if (p) sb_add(&d->work, p, plen);
  if (d->work.nomem) {
    d->work.nomem = false;
    d->work.n = 0;
    d->tail_n = 0;
    return out_text(d, len);
  }
  size_t used = utf8_clean(d->work.p ? d->work.p : "", d->work.n, true, &d->out);
  d->tail_n = d->work.n - used; /* at most 3 bytes: an incomplete character */
  if (d->tail_n > sizeof d->tail) d->tail_n = sizeof d->tail;
  if (d->tail_n) memcpy(d->tail, d->work.p + used, d->tail_n);
  return out_text(d, len);
}

const char *still_detok_flush(still_detok *d, size_t *len)
{
  if (len) *len = 0;
  if (!d) return NULL;
  d->out.n = 0;
  sb_add(&d->out, "", 0);
  utf8_clean(d->tail, d->tail_n, false, &d->out);
  d->tail_n = 0;
  return out_text(d, len);
}

void still_detok_free(still_detok *d)
{
  if (!d) return;
  free(d->work.p);
  free(d->out.p);
  free(d);
}
