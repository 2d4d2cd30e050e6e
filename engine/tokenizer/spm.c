/* spm.c — SentencePiece BPE ("llama" tokenizer model), as llama.cpp runs it.
 *
 * Spaces become ▁ (U+2581), and a fragment that starts the text or follows a
 * special token gets a ▁ in front when add_space_prefix is on. The text
 * starts as one symbol per UTF-8 character; the adjacent pair whose
 * concatenation is the vocabulary token with the highest score is merged
 * first (leftmost first on equal scores), until no pair forms a token.
 * Symbols that are not tokens in the end are written as their bytes
 * (<0xXX> tokens: "byte fallback").
 */
#include "util.h"
#include "vocab-private.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  float score;
  int32_t left, right;
  uint32_t size; /* bytes of the pair when queued */
} spm_pair;

typedef struct {
  uint32_t start, n; /* bytes in the escaped text; n == 0: merged away */
  int32_t prev, next;
} spm_sym;

typedef struct {
  const still_vocab *v;
  const char *text; /* the segment being merged */
  spm_sym *sym;
  spm_pair *heap;
  size_t heap_n, heap_cap;
  int32_t *ids; /* tokens of the segment (room for one per byte) */
  size_t n_ids;
  bool nomem;
} spm_ctx;

static bool pair_before(const spm_pair *a, const spm_pair *b)
{
  return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(spm_ctx *c, spm_pair e)
{
  if (c->heap_n == c->heap_cap) {
    spm_pair *nh = realloc(c->heap, 2 * c->heap_cap * sizeof *nh);
    if (!nh) {
      c->nomem = true;
      return;
    }
    c->heap = nh;
    c->heap_cap *= 2;
  }
  size_t i = c->heap_n++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!pair_before(&e, &c->heap[parent])) break;
    c->heap[i] = c->heap[parent];
    i = parent;
  }
  c->heap[i] = e;
}

static spm_pair heap_pop(spm_ctx *c)
{
  spm_pair top = c->heap[0];
  spm_pair last = c->heap[--c->heap_n];
  size_t i = 0, n = c->heap_n;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const spm_pair *best = &last;
    if (l < n && pair_before(&c->heap[l], best)) {
      m = l;
      best = &c->heap[l];
    }
    if (r < n && pair_before(&c->heap[r], best)) m = r;
    if (m == i) break;
    c->heap[i] = c->heap[m];
    i = m;
  }
  if (n > 0) c->heap[i] = last;
  return top;
}

static void try_pair(spm_ctx *c, int32_t left, int32_t right)
{
  if (left < 0 || right < 0) return;
  const spm_sym *l = &c->sym[left], *r = &c->sym[right];
  uint32_t size = l->n + r->n;
  int32_t id = still_vocab_lookup(c->v, c->text + l->start, size);
  if (id < 0) return;
  spm_pair e = {c->v->scores[id], left, right, size};
  heap_push(c, e);
}

static void push_bytes(spm_ctx *c, const char *s, size_t n)
{
  const still_vocab *v = c->v;
  for (size_t i = 0; i < n; i++) {
    uint8_t b = (uint8_t)s[i];
    int32_t id = v->byte_token[b];
    if (id < 0) id = still_vocab_lookup(v, s + i, 1); /* vocabularies without <0xXX> tokens */
    if (id < 0) id = v->unk;
    if (id >= 0) c->ids[c->n_ids++] = id;
  }
}

/* Tokenizes the escaped text seg[0..n) into c->ids / c->n_ids. */
static void merge_segment(spm_ctx *c, const char *seg, size_t n)
{
  const still_vocab *v = c->v;
  spm_sym *sym = c->sym;
  c->text = seg;
  c->heap_n = 0;
  c->n_ids = 0;

  /* one symbol per UTF-8 character (a byte that starts none is a symbol by itself) */
  int32_t n_sym = 0;
  for (size_t off = 0; off < n;) {
    size_t l = still_utf8_seq_len(seg + off, n - off);
    if (l == 0) l = 1;
    sym[n_sym].start = (uint32_t)off;
    sym[n_sym].n = (uint32_t)l;
    sym[n_sym].prev = n_sym - 1;
    sym[n_sym].next = off + l < n ? n_sym + 1 : -1;
    n_sym++;
    off += l;
  }
  for (int32_t i = 1; i < n_sym; i++) try_pair(c, i - 1, i);

  while (c->heap_n > 0 && !c->nomem) {
    spm_pair e = heap_pop(c);
    spm_sym *l = &sym[e.left], *r = &sym[e.right];
    /* stale: one side was merged into another symbol since it was queued */
    if (l->n == 0 || r->n == 0 || l->n + r->n != e.size) continue;
    l->n += r->n;
    r->n = 0;
    l->next = r->next;
    if (r->next >= 0) sym[r->next].prev = e.left;
    try_pair(c, l->prev, e.left);
    try_pair(c, e.left, l->next);
  }

  for (int32_t i = n_sym > 0 ? 0 : -1; i >= 0; i = sym[i].next) {
    int32_t id = still_vocab_lookup(v, seg + sym[i].start, sym[i].n);
    if (id >= 0)
      c->ids[c->n_ids++] = id;
    else
      push_bytes(c, seg + sym[i].start, sym[i].n);
  }
}

static const char SPACE_MARK[3] = {'\xE2', '\x96', '\x81'}; /* ▁ */

void still_spm_prepare(still_vocab *v)
{
  /* Words are independent when no token has a ▁ right after a character
   * that is not ▁ itself: then no merge can join the end of one word with
   * the ▁ that starts the next (true of SentencePiece vocabularies trained
   * with whitespace splitting, such as Llama 2's). */
  bool ok = true;
  for (int32_t id = 0; id < v->n_tokens && ok; id++) {
    const char *t = v->text_pool + v->text_off[id];
    size_t n = v->text_len[id];
    for (size_t j = 1; j + 3 <= n && ok; j++)
      if (memcmp(t + j, SPACE_MARK, 3) == 0 && (j < 3 || memcmp(t + j - 3, SPACE_MARK, 3) != 0)) ok = false;
  }
  v->spm_words_independent = ok;
}

/* A word starts at a ▁ that follows something other than ▁. */
static bool word_start(const char *buf, size_t i, size_t n)
{
  return i >= 1 && i + 3 <= n && memcmp(buf + i, SPACE_MARK, 3) == 0 &&
         (i < 3 || memcmp(buf + i - 3, SPACE_MARK, 3) != 0);
}

still_status still_spm_tokenize(const still_vocab *v, const char *text, size_t len, bool prefix_space,
                                still_tok_out *out, still_error *err)
{
  /* escape: " " → "▁" (3 bytes), plus the optional leading ▁ */
  if (len > (UINT32_MAX - 3) / 3)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "the text is too long to tokenize in one piece");
  size_t cap = 3 * len + 3;
  char *buf = malloc(cap);
  if (!buf) return still_set_error(err, STILL_ERR_NOMEM, "out of memory while tokenizing");
  size_t n = 0;
  if (prefix_space) {
    memcpy(buf, SPACE_MARK, 3);
    n = 3;
  }
  for (size_t i = 0; i < len; i++) {
    if (text[i] == ' ') {
      memcpy(buf + n, SPACE_MARK, 3);
      n += 3;
    } else {
      buf[n++] = text[i];
    }
  }

  size_t max_sym = 0;
  for (size_t off = 0; off < n; max_sym++) {
    size_t l = still_utf8_seq_len(buf + off, n - off);
    off += l ? l : 1;
  }
  spm_ctx c = {0};
  c.v = v;
  /* the queue starts with n-1 pairs and grows (by at most two per merge) */
  c.heap_cap = (v->spm_words_independent ? 64 : max_sym) + 16;
  c.sym = malloc((max_sym + 1) * sizeof *c.sym);
  c.heap = malloc(c.heap_cap * sizeof *c.heap);
  c.ids = malloc((n + 1) * sizeof *c.ids);
  if (!c.sym || !c.heap || !c.ids) {
    free(buf);
    free(c.sym);
    free(c.heap);
    free(c.ids);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory while tokenizing");
  }

  if (!v->spm_words_independent) {
    merge_segment(&c, buf, n);
    for (size_t k = 0; k < c.n_ids; k++) still_tok_push(out, c.ids[k]);
  } else {
    still_wcache cache;
    bool use_cache = n >= STILL_WCACHE_MIN_TEXT && still_wcache_init(&cache);
    size_t start = 0;
    for (size_t i = 1; i <= n && !c.nomem; i++) {
      if (i < n && !word_start(buf, i, n)) continue;
      const char *w = buf + start;
      size_t wl = i - start;
      start = i;
      uint32_t h = 0;
      still_wcache_slot *slot = NULL;
      if (use_cache && wl <= STILL_WCACHE_MAX_WORD) {
        h = still_hash_bytes(w, wl);
        slot = still_wcache_find(&cache, w, wl, h);
        if (slot->key_off != UINT32_MAX) {
          const int32_t *ids = cache.id_pool + slot->ids_off;
          for (uint16_t k = 0; k < slot->n_ids; k++) still_tok_push(out, ids[k]);
          continue;
        }
      }
      merge_segment(&c, w, wl);
      for (size_t k = 0; k < c.n_ids; k++) still_tok_push(out, c.ids[k]);
      if (slot) still_wcache_add(&cache, slot, w, wl, h, c.ids, c.n_ids);
    }
    if (use_cache) still_wcache_free(&cache);
  }

  free(buf);
  free(c.sym);
  free(c.heap);
  free(c.ids);
  if (c.nomem) return still_set_error(err, STILL_ERR_NOMEM, "out of memory while tokenizing");
  return STILL_OK;
}
