/* bpe.c — byte-level BPE ("gpt2" tokenizer model).
 *
 * Each pre-token (see pretokenize.c) starts as one symbol per byte, the
 * token of that byte's GPT-2 byte-level character. Adjacent pairs that are
 * in the merge table are merged lowest rank first (leftmost first among
 * equal ranks) until none is left, as Hugging Face and llama.cpp do. The
 * symbols form a linked list and the candidate pairs a binary heap; a pair
 * whose symbols changed since it was queued is skipped when it comes up.
 *
 * Words repeat a lot in real text, so a tokenize call of more than a few
 * hundred bytes keeps a cache of word → ids (local to the call: the vocab
 * stays read-only and shareable between threads).
 */
#include "util.h"
#include "vocab-private.h"

#include <stdlib.h>
#include <string.h>

/* ---- GPT-2 byte ↔ unicode mapping --------------------------------------
 * Printable bytes (33–126, 161–172, 174–255) stand for themselves; the
 * others are given the code points 256, 257, … in byte order. */
static bool byte_is_printable(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

uint32_t still_bpe_byte_to_cp(uint8_t b)
{
  if (byte_is_printable(b)) return b;
  uint32_t n = 0;
  for (unsigned i = 0; i < b; i++)
    if (!byte_is_printable(i)) n++;
  return 256 + n;
}

int still_bpe_cp_to_byte(uint32_t cp)
{
  if (cp < 256) return byte_is_printable(cp) ? (int)cp : -1;
  if (cp >= 256 + 68) return -1; /* 68 bytes are not printable */
  uint32_t n = cp - 256;
  for (unsigned b = 0; b < 256; b++) {
    if (byte_is_printable(b)) continue;
    if (n == 0) return (int)b;
    n--;
  }
  return -1;
}

/* UTF-8 of a code point below 0x800 (all the byte-level code points are). */
static size_t put_cp(char *dst, uint32_t cp)
{
  if (cp < 0x80) {
    dst[0] = (char)cp;
    return 1;
  }
  dst[0] = (char)(0xC0 | (cp >> 6));
  dst[1] = (char)(0x80 | (cp & 0x3F));
  return 2;
}

/* ---- merge table --------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static const still_merge_slot *merge_find(const still_vocab *v, int32_t left, int32_t right)
{
  if (!v->merges) return NULL;
  uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
  uint64_t i = mix64(key) & v->merge_mask;
  for (;;) {
    const still_merge_slot *s = &v->merges[i];
    if (s->key == key) return s;
    if (s->key == UINT64_MAX) return NULL;
    i = (i + 1) & v->merge_mask;
  }
}

still_status still_bpe_build_merges(still_vocab *v, const gguf_str *merges, uint64_t n, still_error *err)
{
  if (n > INT32_MAX)
    return still_set_error(err, STILL_ERR_FORMAT, "the tokenizer has an impossible number of merges (%llu)",
                           (unsigned long long)n);
  uint64_t size = 16;
  while (size < n + n / 2) size <<= 1; /* load factor at most 2/3 */
  v->merges = malloc(size * sizeof *v->merges);
  if (!v->merges) return still_set_error(err, STILL_ERR_NOMEM, "out of memory while loading the tokenizer merges");
  for (uint64_t i = 0; i < size; i++) v->merges[i].key = UINT64_MAX;
  v->merge_mask = size - 1;
  v->n_merges = 0;

  char stackbuf[512];
  for (uint64_t r = 0; r < n; r++) {
    const char *s = merges[r].ptr;
    size_t len = (size_t)merges[r].len;
    /* "left right": the separator is the first space after the first byte
     * (a token itself never contains a plain space in byte-level BPE). */
    const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
    if (!sp)
      return still_set_error(err, STILL_ERR_FORMAT, "tokenizer merge %llu (\"%.*s\") is not two tokens separated by a space",
                             (unsigned long long)r, (int)(len > 64 ? 64 : len), s);
    size_t llen = (size_t)(sp - s), rlen = len - llen - 1;
    int32_t left = still_vocab_lookup(v, s, llen);
    int32_t right = still_vocab_lookup(v, sp + 1, rlen);
    if (left < 0 || right < 0)
      return still_set_error(err, STILL_ERR_FORMAT, "tokenizer merge %llu (\"%.*s\") refers to a token that is not in the vocabulary",
                             (unsigned long long)r, (int)(len > 64 ? 64 : len), s);
    char *cat = llen + rlen <= sizeof stackbuf ? stackbuf : malloc(llen + rlen);
    if (!cat) return still_set_error(err, STILL_ERR_NOMEM, "out of memory while loading the tokenizer merges");
    memcpy(cat, s, llen);
    memcpy(cat + llen, sp + 1, rlen);
    int32_t result = still_vocab_lookup(v, cat, llen + rlen);
    if (cat != stackbuf) free(cat);
    /* A merge whose result is not a token can never produce a token; such
     * merges do not occur in real vocabularies, so they are left out. */
    if (result < 0) continue;

    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    uint64_t i = mix64(key) & v->merge_mask;
    while (v->merges[i].key != UINT64_MAX && v->merges[i].key != key) i = (i + 1) & v->merge_mask;
    if (v->merges[i].key == key) continue; /* a repeated pair keeps its first (best) rank */
    v->merges[i].key = key;
    v->merges[i].rank = (int32_t)r;
    v->merges[i].result = result;
    v->n_merges++;
  }
  return STILL_OK;
}

/* ---- word cache (per tokenize call; also used by spm.c) ------------------- */

#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_ENTRIES (CACHE_SLOTS / 2)

uint32_t still_hash_bytes(const char *s, size_t n)
{
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h ^ (h >> 15);
}

bool still_wcache_init(still_wcache *c)
{
  memset(c, 0, sizeof *c);
  c->slots = malloc(CACHE_SLOTS * sizeof *c->slots);
  if (!c->slots) return false;
  for (uint32_t i = 0; i < CACHE_SLOTS; i++) c->slots[i].key_off = UINT32_MAX;
  return true;
}

void still_wcache_free(still_wcache *c)
{
  free(c->slots);
  free(c->key_pool);
  free(c->id_pool);
}

still_wcache_slot *still_wcache_find(still_wcache *c, const char *w, size_t n, uint32_t h)
{
  uint32_t i = h & (CACHE_SLOTS - 1);
  for (;;) {
    still_wcache_slot *s = &c->slots[i];
    if (s->key_off == UINT32_MAX) return s; /* the empty slot where it would go */
    if (s->hash == h && s->key_len == n && memcmp(c->key_pool + s->key_off, w, n) == 0) return s;
    i = (i + 1) & (CACHE_SLOTS - 1);
  }
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap) return true;
  size_t nc = *cap ? *cap : 1024;
  while (nc < need) nc *= 2;
  void *np = realloc(*p, nc * elem);
  if (!np) return false;
  *p = np;
  *cap = nc;
  return true;
}

void still_wcache_add(still_wcache *c, still_wcache_slot *s, const char *w, size_t n, uint32_t h, const int32_t *ids,
                      size_t n_ids)
{
  if (c->n_entries >= CACHE_MAX_ENTRIES || n_ids > UINT16_MAX || n > UINT16_MAX) return;
  if (c->key_used + n > UINT32_MAX || c->id_used + n_ids > UINT32_MAX) return;
  if (!grow((void **)&c->key_pool, &c->key_cap, c->key_used + n, 1)) return;
  if (!grow((void **)&c->id_pool, &c->id_cap, c->id_used + n_ids, sizeof(int32_t))) return;
  memcpy(c->key_pool + c->key_used, w, n);
  if (n_ids) memcpy(c->id_pool + c->id_used, ids, n_ids * sizeof(int32_t));
  s->hash = h;
  s->key_off = (uint32_t)c->key_used;
  s->key_len = (uint16_t)n;
  s->ids_off = (uint32_t)c->id_used;
  s->n_ids = (uint16_t)n_ids;
  c->key_used += n;
  c->id_used += n_ids;
  c->n_entries++;
}

/* ---- merging one word ---------------------------------------------------- */

typedef struct {
  int32_t rank;
  int32_t left, right;   /* symbol indexes */
  int32_t lid, rid;      /* their token ids when queued */
} pair_entry;

typedef struct {
  const still_vocab *v;
  still_tok_out *out;
  still_status status;
  still_error *err;
  bool use_cache;
  still_wcache cache;
  /* scratch, grown as needed */
  int32_t *sym_id, *sym_prev, *sym_next;
  size_t sym_cap;
  pair_entry *heap;
  size_t heap_n, heap_cap;
  int32_t *word_ids;
  size_t word_cap;
  char *enc;
  size_t enc_cap;
} bpe_ctx;

static bool pair_less(const pair_entry *a, const pair_entry *b)
{
  return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void heap_push(bpe_ctx *c, pair_entry e)
{
  size_t i = c->heap_n++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!pair_less(&e, &c->heap[parent])) break;
    c->heap[i] = c->heap[parent];
    i = parent;
  }
  c->heap[i] = e;
}

static pair_entry heap_pop(bpe_ctx *c)
{
  pair_entry top = c->heap[0];
  pair_entry last = c->heap[--c->heap_n];
  size_t i = 0, n = c->heap_n;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const pair_entry *best = &last;
    if (l < n && pair_less(&c->heap[l], best)) {
      m = l;
      best = &c->heap[l];
    }
    if (r < n && pair_less(&c->heap[r], best)) m = r;
    if (m == i) break;
    c->heap[i] = c->heap[m];
    i = m;
  }
  if (n > 0) c->heap[i] = last;
  return top;
}

static void try_pair(bpe_ctx *c, int32_t left, int32_t right)
{
  if (left < 0 || right < 0) return;
  int32_t lid = c->sym_id[left], rid = c->sym_id[right];
  if (lid < 0 || rid < 0) return;
  const still_merge_slot *m = merge_find(c->v, lid, rid);
  if (!m) return;
  pair_entry e = {m->rank, left, right, lid, rid};
  heap_push(c, e);
}

static bool reserve_word(bpe_ctx *c, size_t n)
{
  size_t cap = c->sym_cap;
  if (!grow((void **)&c->sym_id, &cap, n, sizeof(int32_t))) return false;
  cap = c->sym_cap;
  if (!grow((void **)&c->sym_prev, &cap, n, sizeof(int32_t))) return false;
  cap = c->sym_cap;
  if (!grow((void **)&c->sym_next, &cap, n, sizeof(int32_t))) return false;
  c->sym_cap = cap;
  size_t wc = c->word_cap;
  if (!grow((void **)&c->word_ids, &wc, n, sizeof(int32_t))) return false;
  c->word_cap = wc;
  /* each merge queues at most two new pairs */
  if (!grow((void **)&c->heap, &c->heap_cap, 3 * n + 1, sizeof(pair_entry))) return false;
  return true;
}

/* Token ids of one pre-token into c->word_ids; returns how many (or -1: out of memory). */
static int64_t merge_word(bpe_ctx *c, const char *w, size_t n)
{
  const still_vocab *v = c->v;
  if (!reserve_word(c, n)) return -1;

  if (v->ignore_merges) {
    /* Llama 3: a pre-token that is itself a token is taken whole. */
    if (!grow((void **)&c->enc, &c->enc_cap, 2 * n, 1)) return -1;
    size_t el = 0;
    for (size_t i = 0; i < n; i++) el += put_cp(c->enc + el, still_bpe_byte_to_cp((uint8_t)w[i]));
    int32_t id = still_vocab_lookup(v, c->enc, el);
    if (id >= 0) {
      c->word_ids[0] = id;
      return 1;
    }
  }

  for (size_t i = 0; i < n; i++) {
    c->sym_id[i] = v->byte_token[(uint8_t)w[i]];
    c->sym_prev[i] = (int32_t)i - 1;
    c->sym_next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
  }
  c->heap_n = 0;
  for (size_t i = 1; i < n; i++) try_pair(c, (int32_t)i - 1, (int32_t)i);

  while (c->heap_n > 0) {
    pair_entry e = heap_pop(c);
    /* stale when either side has been merged into something else since */
    if (c->sym_id[e.left] != e.lid || c->sym_id[e.right] != e.rid || c->sym_next[e.left] != e.right) continue;
    const still_merge_slot *m = merge_find(v, e.lid, e.rid);
    c->sym_id[e.left] = m->result;
    c->sym_id[e.right] = -2; /* gone */
    int32_t nx = c->sym_next[e.right];
    c->sym_next[e.left] = nx;
    if (nx >= 0) c->sym_prev[nx] = e.left;
    try_pair(c, c->sym_prev[e.left], e.left);
    try_pair(c, e.left, nx);
  }

  int64_t k = 0;
  for (int32_t i = 0; i >= 0; i = c->sym_next[i]) {
    int32_t id = c->sym_id[i];
    if (id >= 0)
      c->word_ids[k++] = id;
    else if (v->unk >= 0) /* a byte with no token: only in broken vocabularies */
      c->word_ids[k++] = v->unk;
  }
  return k;
}

static void on_piece(void *user, const char *w, size_t n)
{
  bpe_ctx *c = user;
  if (c->status != STILL_OK || n == 0) return;

  uint32_t h = 0;
  still_wcache_slot *slot = NULL;
  if (c->use_cache && n <= STILL_WCACHE_MAX_WORD) {
    h = still_hash_bytes(w, n);
    slot = still_wcache_find(&c->cache, w, n, h);
    if (slot->key_off != UINT32_MAX) {
      const int32_t *ids = c->cache.id_pool + slot->ids_off;
      for (uint16_t i = 0; i < slot->n_ids; i++) still_tok_push(c->out, ids[i]);
      return;
    }
  }

  int64_t k = merge_word(c, w, n);
  if (k < 0) {
    c->status = still_set_error(c->err, STILL_ERR_NOMEM, "out of memory while tokenizing");
    return;
  }
  for (int64_t i = 0; i < k; i++) still_tok_push(c->out, c->word_ids[i]);
  if (slot) still_wcache_add(&c->cache, slot, w, n, h, c->word_ids, (size_t)k);
}

still_status still_bpe_tokenize(const still_vocab *v, const char *text, size_t len, still_tok_out *out,
                                still_error *err)
{
  bpe_ctx c;
  memset(&c, 0, sizeof c);
  c.v = v;
  c.out = out;
  c.err = err;
  c.status = STILL_OK;
  c.use_cache = len >= STILL_WCACHE_MIN_TEXT && still_wcache_init(&c.cache);

  still_status st = still_pretok_split(v->pretok, text, len, on_piece, &c, err);
  if (st == STILL_OK) st = c.status;

  if (c.use_cache) still_wcache_free(&c.cache);
  free(c.sym_id);
  free(c.sym_prev);
  free(c.sym_next);
  free(c.heap);
  free(c.word_ids);
  free(c.enc);
  return st;
}
