/* distill-markdown-parse.c — Markdown segments → block nodes (see the header).
 *
 * Three steps per segment:
 *  1. protect_math(): LaTeX spans ($…$, $$…$$, \(…\), \[…\], bare \boxed{…})
 *     are replaced by placeholders made of private-use characters, so md4c
 *     neither reads "\[" as an escaped bracket nor "*" or "_" inside a
 *     formula as emphasis;
 *  2. md4c parses the protected text; its callbacks build the node tree and
 *     the inline Pango markup, escaping every piece of text;
 *  3. placeholders are turned back: into converted math in running text,
 *     into a MATH or BOXED block when a display formula stands in a paragraph,
 *     into the original source inside code (code shows what was written). */
#include "config.h"

#include <string.h>

#include <md4c.h>

#include "distill-markdown-math.h"
#include "distill-markdown-parse.h"

/* Deeper containers (quotes in quotes in lists…) are flattened into the
 * deepest allowed one: a widget tree thousands of levels deep would not do. */
#define MAX_NESTING 24

/* Placeholder: U+E000, the span's index as U+E010+digit, U+E001. Private-use
 * characters are plain text to md4c and never split from their neighbours. */
#define PH_START "\xee\x80\x80"
#define PH_END "\xee\x80\x81"
#define PH_LEN 3

static const char replacement[] = "\xef\xbf\xbd";

/* ---- nodes ------------------------------------------------------------- */

static void node_clear(DistillMdNode *node)
{
  g_free(node->text);
  g_free(node->lang);
  if (node->children) g_ptr_array_unref(node->children);
}

DistillMdNode *distill_md_node_ref(DistillMdNode *node)
{
  return g_rc_box_acquire(node);
}

void distill_md_node_unref(DistillMdNode *node)
{
  g_rc_box_release_full(node, (GDestroyNotify)node_clear);
}

static DistillMdNode *node_new(DistillMdKind kind)
{
  DistillMdNode *node = g_rc_box_new0(DistillMdNode);
  node->kind = kind;
  node->number = -1;
  switch (kind) {
  case DISTILL_MD_QUOTE: case DISTILL_MD_LIST: case DISTILL_MD_ITEM:
  case DISTILL_MD_TABLE: case DISTILL_MD_ROW:
    node->children = g_ptr_array_new_with_free_func((GDestroyNotify)distill_md_node_unref);
    break;
  default:
    break;
  }
  return node;
}

gboolean distill_md_node_equal(const DistillMdNode *a, const DistillMdNode *b)
{
  if (a == b) return TRUE;
  if (!a || !b) return FALSE;
  if (a->kind != b->kind || a->level != b->level || a->number != b->number ||
      a->ordered != b->ordered || a->header != b->header || a->align != b->align ||
      g_strcmp0(a->text, b->text) != 0 || g_strcmp0(a->lang, b->lang) != 0)
    return FALSE;
  guint na = a->children ? a->children->len : 0, nb = b->children ? b->children->len : 0;
  if (na != nb) return FALSE;
  for (guint i = 0; i < na; i++)
    if (!distill_md_node_equal(a->children->pdata[i], b->children->pdata[i])) return FALSE;
  return TRUE;
}

/* ---- valid UTF-8 ------------------------------------------------------------ */

gsize distill_md_append_valid(GString *dest, const char *data, gsize len)
{
  /* Hold back a lead byte at the end whose continuation bytes have not all
   * arrived yet: it may still become a valid character. */
  gsize keep = len;
  for (gsize back = 1; back <= 3 && back <= len; back++) {
    guchar b = (guchar)data[len - back];
    if ((b & 0xc0) == 0x80) continue;
    gsize need = (b >= 0xf0 && b <= 0xf4) ? 4 : (b >= 0xe0 && b <= 0xef) ? 3 : (b >= 0xc2 && b <= 0xdf) ? 2 : 1;
    if (need > back) keep = len - back;
    break;
  }
  /* The same replacement as g_utf8_make_valid(): one U+FFFD per bad byte
   * (a NUL counts as bad: it would end the C string). Doing it per chunk
   * gives the same result as for the whole, since nothing valid was cut. */
  const char *p = data;
  gsize rem = keep;
  while (rem > 0) {
    const char *bad;
    if (g_utf8_validate_len(p, rem, &bad)) {
      g_string_append_len(dest, p, (gssize)rem);
      break;
    }
    gsize ok = (gsize)(bad - p);
    g_string_append_len(dest, p, (gssize)ok);
    g_string_append(dest, replacement);
    p = bad + 1;
    rem -= ok + 1;
  }
  return keep;
}

/* ---- segment cuts -------------------------------------------------------- */

static gboolean is_blank_char(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Columns of indentation at the start of s (a tab counts 4). */
static gsize indent_of(const char *s, gsize n, gsize *bytes)
{
  gsize col = 0, i = 0;
  for (; i < n && (s[i] == ' ' || s[i] == '\t'); i++) col += s[i] == '\t' ? 4 - col % 4 : 1;
  if (bytes) *bytes = i;
  return col;
}

/* Does the line at s (n bytes available, maybe without its end) open a
 * fence? 1 yes, 0 no, -1 not decidable from the bytes there yet. */
static int fence_opener(const char *s, gsize n, char *ch, gsize *run)
{
  gsize ib;
  if (indent_of(s, n, &ib) > 3) return 0;
  if (ib >= n) return -1;
  char c = s[ib];
  if (c != '`' && c != '~') return 0;
  gsize r = 0;
  while (ib + r < n && s[ib + r] == c) r++;
  const char *nl = memchr(s + ib + r, '\n', n - ib - r);
  if (ib + r >= n) return -1; /* the run may go on */
  if (r < 3) return 0;
  if (c == '`') { /* a backtick fence's info string has no backtick */
    if (!nl) return -1;
    if (memchr(s + ib + r, '`', (gsize)(nl - (s + ib + r)))) return 0;
  }
  *ch = c;
  *run = r;
  return 1;
}

static gboolean fence_closer(const char *s, gsize n, char ch, gsize run)
{
  gsize ib;
  if (indent_of(s, n, &ib) > 3) return FALSE;
  gsize r = 0;
  while (ib + r < n && s[ib + r] == ch) r++;
  if (r < run) return FALSE;
  for (gsize i = ib + r; i < n; i++)
    if (!is_blank_char(s[i])) return FALSE;
  return TRUE;
}

/* An ATX heading at column 0? 1 yes, 0 no, -1 not decidable yet. */
static int atx_heading(const char *s, gsize n)
{
  gsize h = 0;
  while (h < n && s[h] == '#') h++;
  if (h == 0 || h > 6) return 0;
  if (h >= n) return -1;
  return is_blank_char(s[h]) ? 1 : 0;
}

gsize distill_md_next_cut(const char *t, gsize start, gsize len)
{
  gboolean in_fence = FALSE, fence_top = FALSE;
  char fence_ch = 0;
  gsize fence_run = 0;
  /* What the line before told: it was blank; or it ended a block that
   * nothing after can continue (a heading, a closing fence at column 0). */
  gboolean prev_blank = FALSE, prev_ends_block = FALSE;

  for (gsize p = start; p < len;) {
    if (p > start && !in_fence) {
      char c = t[p];
      if (prev_ends_block && !is_blank_char(c)) return p;
      /* After a blank line, a line at column 0 starts a new top-level block:
       * paragraphs are closed, list items need indented content, and block
       * quotes do not continue past a blank line. */
      if (prev_blank && !is_blank_char(c)) return p;
      /* Headings and fences at column 0 interrupt whatever came before. */
      if (c == '#') {
        int h = atx_heading(t + p, len - p);
        if (h < 0) return 0;
        if (h > 0) return p;
      } else if (c == '`' || c == '~') {
        char ch;
        gsize run;
        int f = fence_opener(t + p, len - p, &ch, &run);
        if (f < 0) return 0;
        if (f > 0) return p;
      }
    }
    const char *nl = memchr(t + p, '\n', len - p);
    if (!nl) return 0; /* the last line is still being written */
    gsize n = (gsize)(nl - (t + p)) + 1;
    const char *line = t + p;
    if (in_fence) {
      prev_blank = FALSE;
      prev_ends_block = FALSE;
      if (fence_closer(line, n, fence_ch, fence_run)) {
        in_fence = FALSE;
        prev_ends_block = fence_top;
      }
    } else {
      gsize ib;
      indent_of(line, n, &ib);
      prev_blank = ib + 1 >= n || (ib + 2 == n && line[ib] == '\r');
      prev_ends_block = FALSE;
      if (fence_opener(line, n, &fence_ch, &fence_run) > 0) {
        in_fence = TRUE;
        fence_top = ib == 0;
      } else if (atx_heading(line, n) > 0) {
        prev_ends_block = TRUE;
      }
    }
    p += n;
  }
  return 0;
}

/* ---- math protection --------------------------------------------------------- */

typedef struct {
  gboolean display; /* a block of its own when it stands in a paragraph */
  gboolean boxed;
  char *tex;        /* LaTeX without delimiters */
  char *source;     /* as written, for code */
} MathSpan;

static void math_span_free(MathSpan *m)
{
  g_free(m->tex);
  g_free(m->source);
  g_free(m);
}

/* s[j] ends a line and the next line is blank: the paragraph ends there. */
static gboolean blank_line_follows(const char *s, gsize j, gsize len)
{
  if (s[j] != '\n') return FALSE;
  gsize k = j + 1;
  while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r')) k++;
  return k < len && s[k] == '\n';
}

#define FOUND_NONE ((gssize)-1)   /* a blank line came first: not math */
#define FOUND_AT_END ((gssize)-2) /* the text ended: math still being written */

/* Position of needle in s[from, len), not past a blank line. */
static gssize find_closer(const char *s, gsize from, gsize len, const char *needle)
{
  gsize nn = strlen(needle);
  for (gsize j = from; j < len; j++) {
    if (blank_line_follows(s, j, len)) return FOUND_NONE;
    if (s[j] == '\\' && nn == 2 && needle[0] == '$' && j + 1 < len) {
      j++; /* \$ inside $$…$$ */
      continue;
    }
    if (j + nn <= len && memcmp(s + j, needle, nn) == 0) return (gssize)j;
  }
  return FOUND_AT_END;
}

/* The end of the {group} at s[i] (after its '}'), FOUND_NONE past a blank
 * line, FOUND_AT_END when never closed. */
static gssize find_group_end(const char *s, gsize i, gsize len)
{
  int level = 0;
  for (gsize j = i; j < len; j++) {
    if (s[j] == '\\' && j + 1 < len) {
      j++;
      continue;
    }
    if (blank_line_follows(s, j, len)) return FOUND_NONE;
    if (s[j] == '{') level++;
    else if (s[j] == '}' && --level == 0) return (gssize)j + 1;
  }
  return FOUND_AT_END;
}

/* Only blanks between the line's start and s[from], and from s[to] to the
 * line's end. */
static gboolean alone_on_line(const char *s, gsize len, gsize from, gsize to)
{
  for (gsize j = from; j > 0 && s[j - 1] != '\n'; j--)
    if (s[j - 1] != ' ' && s[j - 1] != '\t') return FALSE;
  for (gsize j = to; j < len && s[j] != '\n'; j++)
    if (!is_blank_char(s[j])) return FALSE;
  return TRUE;
}

static void add_placeholder(GString *out, GPtrArray *math, const char *s, gsize len, gsize from,
                            gsize tex_from, gsize tex_to, gsize to, gboolean display)
{
  MathSpan *m = g_new0(MathSpan, 1);
  m->tex = g_strndup(s + tex_from, tex_to - tex_from);
  m->source = g_strndup(s + from, to - from);
  m->boxed = distill_math_has_boxed(m->tex, -1);
  /* A boxed answer alone on its line is a block, however it was delimited. */
  m->display = display || (m->boxed && alone_on_line(s, len, from, to));
  g_ptr_array_add(math, m);
  g_string_append(out, PH_START);
  char digits[16];
  g_snprintf(digits, sizeof digits, "%u", math->len - 1);
  for (const char *d = digits; *d; d++) {
    g_string_append(out, "\xee\x80");
    g_string_append_c(out, (char)(0x90 + (*d - '0')));
  }
  g_string_append(out, PH_END);
}

/* Copies a line verbatim (fences), guarding against placeholder look-alikes. */
static void copy_text(GString *out, const char *s, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    if ((guchar)s[i] == 0xee && i + 2 < n && (guchar)s[i + 1] == 0x80 && (guchar)s[i + 2] <= 0x9f) {
      g_string_append(out, replacement);
      i += 2;
    } else {
      g_string_append_c(out, s[i]);
    }
  }
}

/* A lone '~' (not part of "~~"): md4c would pair two of them into a
 * strikethrough. Not inside a URL ("https://host/~user"). */
static gboolean lone_tilde(const char *s, gsize len, gsize i)
{
  if (i > 0 && (s[i - 1] == '~' || s[i - 1] == '\\')) return FALSE;
  if (i + 1 < len && s[i + 1] == '~') return FALSE;
  gsize w = i;
  while (w > 0 && !is_blank_char(s[w - 1])) w--;
  for (gsize j = w; j < i; j++) {
    if (s[j] == '@' || (j + 3 <= i && memcmp(s + j, "://", 3) == 0) ||
        (j + 4 <= i && g_ascii_strncasecmp(s + j, "www.", 4) == 0))
      return FALSE;
  }
  return TRUE;
}

static char *protect_math(const char *s, gsize len, GPtrArray *math)
{
  GString *out = g_string_sized_new(len + 16);
  gboolean in_fence = FALSE;
  char fence_ch = 0;
  gsize fence_run = 0;
  gsize i = 0;

  while (i < len) {
    if (i == 0 || s[i - 1] == '\n') {
      /* Fences at any indentation (list items nest them deeper), also in
       * block quotes: their content is code, never math. */
      const char *nl = memchr(s + i, '\n', len - i);
      gsize eol = nl ? (gsize)(nl - s) + 1 : len;
      gsize k = i;
      while (k < eol && (s[k] == ' ' || s[k] == '\t' || s[k] == '>')) k++;
      gboolean fence_line = FALSE;
      if (in_fence) {
        fence_line = TRUE;
        if (fence_closer(s + k, eol - k, fence_ch, fence_run)) in_fence = FALSE;
      } else if (fence_opener(s + k, eol - k, &fence_ch, &fence_run) > 0) {
        in_fence = fence_line = TRUE;
      }
      if (fence_line) {
        copy_text(out, s + i, eol - i);
        i = eol;
        continue;
      }
    }
    char c = s[i];
    if (c == '`') {
      gsize run = 0;
      while (i + run < len && s[i + run] == '`') run++;
      gsize j = i + run;
      gssize close = FOUND_AT_END;
      while (j < len) {
        if (s[j] == '`') {
          gsize r = 0;
          while (j + r < len && s[j + r] == '`') r++;
          if (r == run) {
            close = (gssize)j;
            break;
          }
          j += r;
          continue;
        }
        if (blank_line_follows(s, j, len)) break;
        j++;
      }
      gsize end = close >= 0 ? (gsize)close + run : i + run;
      copy_text(out, s + i, end - i);
      i = end;
    } else if (c == '\\' && i + 1 < len && (s[i + 1] == '[' || s[i + 1] == '(')) {
      gboolean display = s[i + 1] == '[';
      gssize close = find_closer(s, i + 2, len, display ? "\\]" : "\\)");
      if (close == FOUND_NONE) {
        copy_text(out, s + i, 2);
        i += 2;
      } else {
        gsize tex_end = close >= 0 ? (gsize)close : len;
        gsize end = close >= 0 ? (gsize)close + 2 : len;
        add_placeholder(out, math, s, len, i, i + 2, tex_end, end, display);
        i = end;
      }
    } else if (c == '\\' && i + 6 <= len && memcmp(s + i + 1, "boxed", 5) == 0) {
      gsize b = i + 6;
      while (b < len && (s[b] == ' ' || s[b] == '\t')) b++;
      gssize end = b < len && s[b] == '{' ? find_group_end(s, b, len) : FOUND_NONE;
      if (end == FOUND_NONE || b >= len) {
        copy_text(out, s + i, 1);
        i++;
      } else {
        gsize e = end >= 0 ? (gsize)end : len;
        add_placeholder(out, math, s, len, i, i, e, e, FALSE);
        i = e;
      }
    } else if (c == '\\' && i + 1 < len && (guchar)s[i + 1] < 0x80) {
      copy_text(out, s + i, 2); /* an escape: md4c reads it, "\$" is no math */
      i += 2;
    } else if (c == '$' && i + 1 < len && s[i + 1] == '$') {
      gssize close = find_closer(s, i + 2, len, "$$");
      if (close == FOUND_NONE) {
        copy_text(out, s + i, 2);
        i += 2;
      } else {
        gsize tex_end = close >= 0 ? (gsize)close : len;
        gsize end = close >= 0 ? (gsize)close + 2 : len;
        add_placeholder(out, math, s, len, i, i + 2, tex_end, end, TRUE);
        i = end;
      }
    } else if (c == '$') {
      /* Inline $…$ on one line, pandoc's rules: no blank after the opening
       * dollar nor before the closing one, no digit right after it — so
       * "costs $5 and $10" stays text. */
      gssize close = FOUND_NONE;
      if (i + 1 < len && !is_blank_char(s[i + 1])) {
        for (gsize j = i + 1; j < len && s[j] != '\n'; j++) {
          if (s[j] == '\\') {
            j++;
            continue;
          }
          if (s[j] == '$') {
            if (!is_blank_char(s[j - 1]) && (j + 1 >= len || !g_ascii_isdigit(s[j + 1])) && j > i + 1)
              close = (gssize)j;
            break;
          }
        }
      }
      if (close >= 0) {
        add_placeholder(out, math, s, len, i, i + 1, (gsize)close, (gsize)close + 1, FALSE);
        i = (gsize)close + 1;
      } else {
        copy_text(out, s + i, 1);
        i++;
      }
    } else if (c == '~' && lone_tilde(s, len, i)) {
      /* md4c reads ~one~ as strikethrough too, but models write "~5 km"
       * for "about": only ~~two~~ strike through. */
      g_string_append(out, "\\~");
      i++;
    } else {
      gsize n = 1;
      if ((guchar)c == 0xee) n = MIN(3, len - i);
      copy_text(out, s + i, n);
      i += n;
    }
  }
  return g_string_free(out, FALSE);
}

/* Replaces placeholders in s by the sources they stand for. */
static char *restore_sources(const char *s, gsize n, GPtrArray *math)
{
  GString *out = g_string_sized_new(n);
  for (gsize i = 0; i < n;) {
    if (i + PH_LEN <= n && memcmp(s + i, PH_START, PH_LEN) == 0) {
      gsize j = i + PH_LEN;
      guint index = 0;
      while (j + 3 <= n && (guchar)s[j] == 0xee && (guchar)s[j + 1] == 0x80 &&
             (guchar)s[j + 2] >= 0x90 && (guchar)s[j + 2] <= 0x99 && index < 100000000) {
        index = index * 10 + ((guchar)s[j + 2] - 0x90);
        j += 3;
      }
      if (j > i + PH_LEN && j + PH_LEN <= n && memcmp(s + j, PH_END, PH_LEN) == 0 && index < math->len) {
        g_string_append(out, ((MathSpan *)math->pdata[index])->source);
        i = j + PH_LEN;
        continue;
      }
    }
    g_string_append_c(out, s[i]);
    i++;
  }
  return g_string_free(out, FALSE);
}

/* ---- md4c → nodes ------------------------------------------------------------------ */

typedef enum { LEAF_NONE, LEAF_PARA, LEAF_HEADING, LEAF_CELL, LEAF_CODE } LeafKind;

typedef struct {
  GPtrArray *math;      /* MathSpan */
  GPtrArray *stack;     /* containers; [0] is the document */
  GArray *pushed;       /* per entered container block: whether it got a node */
  LeafKind leaf;
  int heading_level;
  DistillMdAlign cell_align;
  gboolean in_head;
  GString *markup;      /* the current leaf's (or paragraph part's) markup */
  GString *pending;     /* raw text not yet escaped into markup */
  GString *code;
  char *code_lang;
  GPtrArray *closers;   /* closing tags of the open spans (static strings) */
  int link_depth;
  int code_span;
  int list_depth;
  /* The paragraph part so far: visible characters outside math, math spans;
   * where the last formula starts in the markup, whether it is a boxed
   * answer outside any span, and how many characters came after it. */
  guint part_chars;
  guint part_math;
  guint part_last_math;
  gsize part_tail_start;
  gboolean part_tail_boxed;
  guint part_chars_after;
} Parser;

static DistillMdNode *top(Parser *p)
{
  return p->stack->pdata[p->stack->len - 1];
}

static void add_node(Parser *p, DistillMdNode *node)
{
  g_ptr_array_add(top(p)->children, node);
}

static char *trimmed(GString *s)
{
  gsize a = 0, b = s->len;
  while (a < b && is_blank_char(s->str[a])) a++;
  while (b > a && is_blank_char(s->str[b - 1])) b--;
  return g_strndup(s->str + a, b - a);
}

static DistillMdNode *math_node(MathSpan *m)
{
  DistillMdNode *node = node_new(m->boxed ? DISTILL_MD_BOXED : DISTILL_MD_MATH);
  node->text = distill_math_to_markup(m->tex, -1, DISTILL_MATH_DISPLAY, NULL);
  return node;
}

static void finish_part(Parser *p)
{
  MathSpan *last = p->part_math ? p->math->pdata[p->part_last_math] : NULL;
  if (last && last->boxed && p->part_tail_boxed && p->part_chars_after == 0) {
    /* A paragraph that ends with a boxed answer ("**Final Answer:**
     * \boxed{100}", "so the answer is $\boxed{4}$."): the text, then the
     * answer box. */
    g_string_truncate(p->markup, p->part_tail_start);
    char *text = trimmed(p->markup);
    if (*text) {
      DistillMdNode *node = node_new(DISTILL_MD_PARAGRAPH);
      node->text = text;
      add_node(p, node);
    } else {
      g_free(text);
    }
    add_node(p, math_node(last));
  } else if (last && last->boxed && p->part_chars == 0 && p->part_math == 1) {
    /* only a boxed answer, in bold or such: the answer box */
    add_node(p, math_node(last));
  } else {
    char *text = trimmed(p->markup);
    if (*text) {
      DistillMdNode *node = node_new(DISTILL_MD_PARAGRAPH);
      node->text = text;
      add_node(p, node);
    } else {
      g_free(text);
    }
  }
  g_string_truncate(p->markup, 0);
  p->part_chars = p->part_math = p->part_chars_after = 0;
  p->part_tail_boxed = FALSE;
}

static void emit_text(Parser *p, const char *s, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    switch (s[i]) {
    case '<': g_string_append(p->markup, "&lt;"); break;
    case '>': g_string_append(p->markup, "&gt;"); break;
    case '&': g_string_append(p->markup, "&amp;"); break;
    default: g_string_append_c(p->markup, s[i]);
    }
    if (!is_blank_char(s[i])) {
      p->part_chars++;
      if (s[i] != '.') p->part_chars_after++;
    }
  }
}

static void emit_math(Parser *p, guint index)
{
  if (index >= p->math->len) {
    emit_text(p, replacement, strlen(replacement));
    return;
  }
  MathSpan *m = p->math->pdata[index];
  if (p->code_span) {
    emit_text(p, m->source, strlen(m->source));
  } else if (m->display && p->leaf == LEAF_PARA && p->closers->len == 0 && p->link_depth == 0) {
    finish_part(p);
    add_node(p, math_node(m));
  } else {
    char *markup = distill_math_to_markup(m->tex, -1, DISTILL_MATH_HIGHLIGHT_BOXED, NULL);
    p->part_tail_start = p->markup->len;
    p->part_tail_boxed = m->boxed && p->leaf == LEAF_PARA && p->closers->len == 0 && p->link_depth == 0;
    p->part_chars_after = 0;
    g_string_append(p->markup, markup);
    g_free(markup);
    p->part_math++;
    p->part_last_math = index;
  }
}

/* Moves the pending raw text into the markup: escaped, placeholders resolved. */
static void flush_pending(Parser *p)
{
  const char *s = p->pending->str;
  gsize n = p->pending->len, run = 0, i = 0;
  while (i < n) {
    if (i + PH_LEN <= n && memcmp(s + i, PH_START, PH_LEN) == 0) {
      emit_text(p, s + run, i - run);
      gsize j = i + PH_LEN;
      guint index = 0;
      while (j + 3 <= n && (guchar)s[j] == 0xee && (guchar)s[j + 1] == 0x80 &&
             (guchar)s[j + 2] >= 0x90 && (guchar)s[j + 2] <= 0x99 && index < 100000000) {
        index = index * 10 + ((guchar)s[j + 2] - 0x90);
        j += 3;
      }
      if (j > i + PH_LEN && j + PH_LEN <= n && memcmp(s + j, PH_END, PH_LEN) == 0) {
        emit_math(p, index);
        i = run = j + PH_LEN;
      } else {
        emit_text(p, replacement, strlen(replacement));
        i = run = i + PH_LEN;
      }
      continue;
    }
    i++;
  }
  emit_text(p, s + run, n - run);
  g_string_truncate(p->pending, 0);
}

static void start_leaf(Parser *p, LeafKind kind)
{
  p->leaf = kind;
  g_string_truncate(p->markup, 0);
  g_string_truncate(p->pending, 0);
  p->part_chars = p->part_math = p->part_chars_after = 0;
  p->part_tail_boxed = FALSE;
}

static void finish_leaf(Parser *p)
{
  LeafKind kind = p->leaf;
  if (kind == LEAF_NONE) return;
  if (kind == LEAF_CODE) {
    p->leaf = LEAF_NONE;
    char *code = restore_sources(p->code->str, p->code->len, p->math);
    gsize n = strlen(code);
    if (n && code[n - 1] == '\n') code[n - 1] = '\0';
    DistillMdNode *node = node_new(DISTILL_MD_CODE);
    node->text = code;
    node->lang = p->code_lang;
    p->code_lang = NULL;
    g_string_truncate(p->code, 0);
    add_node(p, node);
    return;
  }
  flush_pending(p); /* with p->leaf still set: display math may split a paragraph */
  p->leaf = LEAF_NONE;
  /* md4c balances spans; if it ever did not, close them to keep markup valid */
  while (p->closers->len) {
    g_string_append(p->markup, p->closers->pdata[p->closers->len - 1]);
    g_ptr_array_remove_index(p->closers, p->closers->len - 1);
  }
  p->link_depth = p->code_span = 0;
  if (kind == LEAF_PARA) {
    finish_part(p);
    return;
  }
  DistillMdNode *node = node_new(kind == LEAF_HEADING ? DISTILL_MD_HEADING : DISTILL_MD_CELL);
  node->text = trimmed(p->markup);
  if (kind == LEAF_HEADING) node->level = p->heading_level;
  else {
    node->align = p->cell_align;
    node->header = p->in_head;
  }
  g_string_truncate(p->markup, 0);
  add_node(p, node);
}

static char *attribute_text(const MD_ATTRIBUTE *attr, GPtrArray *math);

static gboolean container_block(MD_BLOCKTYPE type)
{
  return type == MD_BLOCK_QUOTE || type == MD_BLOCK_UL || type == MD_BLOCK_OL ||
         type == MD_BLOCK_LI || type == MD_BLOCK_TABLE || type == MD_BLOCK_TR;
}

static int enter_block(MD_BLOCKTYPE type, void *detail, void *data)
{
  Parser *p = data;
  if (type == MD_BLOCK_DOC) return 0;
  finish_leaf(p); /* the implicit paragraph of a tight list item */

  if (container_block(type)) {
    /* Rows and items always get their node: a table or list flattened into
     * another would lose its shape. Quotes and lists stop nesting deeper. */
    gboolean push = p->stack->len < MAX_NESTING || type == MD_BLOCK_TR || type == MD_BLOCK_LI ||
                    type == MD_BLOCK_TABLE;
    DistillMdNode *parent = top(p);
    if (type == MD_BLOCK_LI && parent->kind != DISTILL_MD_LIST) push = FALSE;
    if (type == MD_BLOCK_TR && parent->kind != DISTILL_MD_TABLE) push = FALSE;
    g_array_append_val(p->pushed, push);
    if (type == MD_BLOCK_UL || type == MD_BLOCK_OL) p->list_depth++;
    if (!push) return 0;

    DistillMdNode *node = NULL;
    switch (type) {
    case MD_BLOCK_QUOTE:
      node = node_new(DISTILL_MD_QUOTE);
      break;
    case MD_BLOCK_UL:
      node = node_new(DISTILL_MD_LIST);
      node->level = p->list_depth - 1;
      break;
    case MD_BLOCK_OL: {
      MD_BLOCK_OL_DETAIL *ol = detail;
      node = node_new(DISTILL_MD_LIST);
      node->ordered = TRUE;
      node->level = p->list_depth - 1;
      node->number = (int)MIN(ol->start, 999999999u);
      /* align is unused for lists: it remembers the delimiter, "1)" or "1." */
      node->align = ol->mark_delimiter == ')' ? DISTILL_MD_ALIGN_RIGHT : DISTILL_MD_ALIGN_DEFAULT;
      break;
    }
    case MD_BLOCK_LI: {
      MD_BLOCK_LI_DETAIL *li = detail;
      node = node_new(DISTILL_MD_ITEM);
      if (parent->ordered) {
        node->text = g_strdup_printf("%ld%c", (long)parent->number + (long)parent->children->len,
                                     parent->align == DISTILL_MD_ALIGN_RIGHT ? ')' : '.');
      } else {
        static const char *const bullets[] = {"•", "◦", "▪"};
        node->text = g_strdup(bullets[MIN(parent->level, 2)]);
      }
      node->number = li->is_task ? (li->task_mark != ' ') : -1;
      break;
    }
    case MD_BLOCK_TABLE:
      node = node_new(DISTILL_MD_TABLE);
      break;
    default: /* MD_BLOCK_TR */
      node = node_new(DISTILL_MD_ROW);
      break;
    }
    add_node(p, node);
    g_ptr_array_add(p->stack, node);
    return 0;
  }

  switch (type) {
  case MD_BLOCK_HR:
    add_node(p, node_new(DISTILL_MD_RULE));
    break;
  case MD_BLOCK_P:
  case MD_BLOCK_HTML: /* not produced with MD_FLAG_NOHTML; text if it were */
    start_leaf(p, LEAF_PARA);
    break;
  case MD_BLOCK_H:
    start_leaf(p, LEAF_HEADING);
    p->heading_level = (int)CLAMP(((MD_BLOCK_H_DETAIL *)detail)->level, 1, 6);
    break;
  case MD_BLOCK_CODE: {
    MD_BLOCK_CODE_DETAIL *code = detail;
    start_leaf(p, LEAF_CODE);
    g_free(p->code_lang);
    p->code_lang = code->lang.size ? attribute_text(&code->lang, p->math) : NULL;
    break;
  }
  case MD_BLOCK_THEAD:
    p->in_head = TRUE;
    break;
  case MD_BLOCK_TBODY:
    p->in_head = FALSE;
    break;
  case MD_BLOCK_TH:
  case MD_BLOCK_TD: {
    MD_BLOCK_TD_DETAIL *td = detail;
    start_leaf(p, LEAF_CELL);
    p->cell_align = (DistillMdAlign)td->align;
    break;
  }
  default:
    break;
  }
  return 0;
}

static int leave_block(MD_BLOCKTYPE type, void *detail, void *data)
{
  Parser *p = data;
  if (type == MD_BLOCK_DOC) return 0;
  finish_leaf(p);
  if (container_block(type) && p->pushed->len) {
    gboolean pushed = g_array_index(p->pushed, gboolean, p->pushed->len - 1);
    g_array_set_size(p->pushed, p->pushed->len - 1);
    if (type == MD_BLOCK_UL || type == MD_BLOCK_OL) p->list_depth--;
    if (pushed && p->stack->len > 1) g_ptr_array_set_size(p->stack, p->stack->len - 1);
  }
  return 0;
}

/* "https:", "mailto:" … : the schemes a click may open. */
static gboolean safe_uri(const char *uri)
{
  return g_ascii_strncasecmp(uri, "https://", 8) == 0 || g_ascii_strncasecmp(uri, "http://", 7) == 0 ||
         g_ascii_strncasecmp(uri, "mailto:", 7) == 0 || g_ascii_strncasecmp(uri, "ftp://", 6) == 0;
}

static int enter_span(MD_SPANTYPE type, void *detail, void *data)
{
  Parser *p = data;
  if (p->leaf == LEAF_NONE) start_leaf(p, LEAF_PARA);
  flush_pending(p);
  const char *open = "", *close = "";
  switch (type) {
  case MD_SPAN_EM: open = "<i>"; close = "</i>"; break;
  case MD_SPAN_STRONG: open = "<b>"; close = "</b>"; break;
  case MD_SPAN_DEL: open = "<s>"; close = "</s>"; break;
  case MD_SPAN_U: open = "<u>"; close = "</u>"; break;
  case MD_SPAN_IMG: open = "<i>"; close = "</i>"; break; /* the alt text */
  case MD_SPAN_CODE:
    open = "<span font_family=\"monospace\" bgcolor=\"#808080\" bgalpha=\"18%\">";
    close = "</span>";
    p->code_span++;
    break;
  case MD_SPAN_A: {
    MD_SPAN_A_DETAIL *a = detail;
    char *href = attribute_text(&a->href, p->math);
    char *uri = NULL;
    if (g_ascii_strncasecmp(href, "www.", 4) == 0) uri = g_strconcat("https://", href, NULL);
    else if (!strchr(href, ':') && strchr(href, '@') && !strchr(href, '/')) uri = g_strconcat("mailto:", href, NULL);
    else uri = g_strdup(href);
    /* Nested links are not allowed in GtkLabel markup; other schemes
     * (file:, javascript:, relative) are shown as text only. */
    if (p->link_depth == 0 && safe_uri(uri)) {
      char *escaped = g_markup_escape_text(uri, -1);
      g_string_append_printf(p->markup, "<a href=\"%s\">", escaped);
      g_free(escaped);
      close = "</a>";
    }
    p->link_depth++;
    g_free(href);
    g_free(uri);
    break;
  }
  default:
    break;
  }
  g_string_append(p->markup, open);
  g_ptr_array_add(p->closers, (gpointer)close);
  return 0;
}

static int leave_span(MD_SPANTYPE type, void *detail, void *data)
{
  Parser *p = data;
  flush_pending(p);
  if (type == MD_SPAN_CODE && p->code_span) p->code_span--;
  if (type == MD_SPAN_A && p->link_depth) p->link_depth--;
  if (p->closers->len) {
    g_string_append(p->markup, p->closers->pdata[p->closers->len - 1]);
    g_ptr_array_remove_index(p->closers, p->closers->len - 1);
  }
  return 0;
}

/* &name; and &#…; → UTF-8 (md4c hands entities over undecoded). */
static void decode_entity(const char *s, gsize n, GString *out)
{
  static const struct {
    const char *name;
    const char *text;
  } named[] = {
    {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", "\u00a0"},
    {"copy", "©"}, {"reg", "®"}, {"trade", "™"}, {"hellip", "…"}, {"mdash", "—"}, {"ndash", "–"},
    {"times", "×"}, {"divide", "÷"}, {"plusmn", "±"}, {"deg", "°"}, {"le", "≤"}, {"ge", "≥"},
    {"ne", "≠"}, {"rarr", "→"}, {"larr", "←"}, {"middot", "·"}, {"euro", "€"}, {"pound", "£"},
    {"laquo", "«"}, {"raquo", "»"}, {"ldquo", "“"}, {"rdquo", "”"}, {"lsquo", "‘"}, {"rsquo", "’"},
    {"bull", "•"}, {"sect", "§"}, {"para", "¶"}, {"micro", "µ"}, {"infin", "∞"}, {"shy", "\u00ad"},
  };
  if (n >= 4 && s[0] == '&' && s[1] == '#' && s[n - 1] == ';') {
    gboolean hex = s[2] == 'x' || s[2] == 'X';
    guint64 value = 0;
    gboolean ok = TRUE;
    for (gsize i = hex ? 3 : 2; i + 1 < n; i++) {
      int d = hex ? g_ascii_xdigit_value(s[i]) : g_ascii_digit_value(s[i]);
      if (d < 0) ok = FALSE;
      value = MIN(value * (hex ? 16 : 10) + (guint64)MAX(d, 0), 0x110000);
    }
    gunichar ch = (gunichar)value;
    if (!ok || ch == 0 || ch > 0x10ffff || (ch >= 0xd800 && ch <= 0xdfff) || (ch >= 0xe000 && ch <= 0xe01f))
      ch = 0xfffd;
    g_string_append_unichar(out, ch);
    return;
  }
  if (n >= 3 && s[0] == '&' && s[n - 1] == ';') {
    for (gsize i = 0; i < G_N_ELEMENTS(named); i++) {
      if (strlen(named[i].name) == n - 2 && memcmp(named[i].name, s + 1, n - 2) == 0) {
        g_string_append(out, named[i].text);
        return;
      }
    }
  }
  g_string_append_len(out, s, (gssize)n); /* unknown: as written */
}

static char *attribute_text(const MD_ATTRIBUTE *attr, GPtrArray *math)
{
  GString *raw = g_string_new(NULL);
  for (guint i = 0; attr->substr_offsets && attr->substr_offsets[i] < attr->size; i++) {
    MD_OFFSET a = attr->substr_offsets[i], b = attr->substr_offsets[i + 1];
    switch (attr->substr_types[i]) {
    case MD_TEXT_ENTITY: decode_entity(attr->text + a, b - a, raw); break;
    case MD_TEXT_NULLCHAR: g_string_append(raw, replacement); break;
    default: g_string_append_len(raw, attr->text + a, (gssize)(b - a)); break;
    }
  }
  char *text = restore_sources(raw->str, raw->len, math);
  g_string_free(raw, TRUE);
  return text;
}

static int text_cb(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *data)
{
  Parser *p = data;
  if (p->leaf == LEAF_CODE) {
    if (type == MD_TEXT_NULLCHAR) g_string_append(p->code, replacement);
    else g_string_append_len(p->code, text, (gssize)size);
    return 0;
  }
  if (p->leaf == LEAF_NONE) start_leaf(p, LEAF_PARA); /* text right in a tight list item */
  switch (type) {
  case MD_TEXT_NULLCHAR: g_string_append(p->pending, replacement); break;
  case MD_TEXT_BR:
    flush_pending(p);
    g_string_append_c(p->markup, '\n');
    break;
  case MD_TEXT_SOFTBR: g_string_append_c(p->pending, ' '); break;
  case MD_TEXT_ENTITY: {
    GString *decoded = g_string_new(NULL);
    decode_entity(text, size, decoded);
    g_string_append(p->pending, decoded->str);
    g_string_free(decoded, TRUE);
    break;
  }
  default: g_string_append_len(p->pending, text, (gssize)size); break;
  }
  return 0;
}

GPtrArray *distill_md_parse(const char *text, gsize len)
{
  Parser p = {0};
  p.math = g_ptr_array_new_with_free_func((GDestroyNotify)math_span_free);
  p.stack = g_ptr_array_new();
  p.pushed = g_array_new(FALSE, FALSE, sizeof(gboolean));
  p.markup = g_string_new(NULL);
  p.pending = g_string_new(NULL);
  p.code = g_string_new(NULL);
  p.closers = g_ptr_array_new();
  DistillMdNode *root = node_new(DISTILL_MD_QUOTE);
  g_ptr_array_add(p.stack, root);

  char *protected = protect_math(text, len, p.math);
  MD_PARSER parser = {
    .abi_version = 0,
    .flags = MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_PERMISSIVEAUTOLINKS | MD_FLAG_TASKLISTS |
             MD_FLAG_NOHTML | MD_FLAG_NOINDENTEDCODEBLOCKS,
    .enter_block = enter_block,
    .leave_block = leave_block,
    .enter_span = enter_span,
    .leave_span = leave_span,
    .text = text_cb,
  };
  if (md_parse(protected, (MD_SIZE)MIN(strlen(protected), G_MAXUINT32), &parser, &p) != 0) {
    /* Out of memory inside md4c: show what we have. */
  }
  finish_leaf(&p);

  GPtrArray *blocks = g_ptr_array_ref(root->children);
  distill_md_node_unref(root);
  g_free(protected);
  g_free(p.code_lang);
  g_ptr_array_unref(p.math);
  g_ptr_array_unref(p.stack);
  g_array_unref(p.pushed);
  g_string_free(p.markup, TRUE);
  g_string_free(p.pending, TRUE);
  g_string_free(p.code, TRUE);
  g_ptr_array_unref(p.closers);
  return blocks;
}
