/* distill-markdown-parse.h — Markdown text → a small tree of block nodes
 * (no widgets here; DistillMarkdownView turns nodes into widgets).
 *
 * The text is cut into segments at points where later text can no longer
 * change how the text before is read (distill_md_next_cut()); each segment
 * is parsed on its own with md4c. Streaming appends therefore only ever
 * re-parse the last segment, and set_text of a whole document gives exactly
 * the same nodes as the same document appended piece by piece. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  DISTILL_MD_PARAGRAPH, /* text: markup */
  DISTILL_MD_HEADING,   /* text: markup; level 1–6 */
  DISTILL_MD_CODE,      /* text: the code (no trailing newline); lang: the fence's language or NULL */
  DISTILL_MD_QUOTE,     /* children: blocks */
  DISTILL_MD_LIST,      /* children: ITEMs; ordered; number: first number; level: nesting depth */
  DISTILL_MD_ITEM,      /* children: blocks; text: the marker ("•", "3."); number: task -1 none, 0 open, 1 done */
  DISTILL_MD_RULE,
  DISTILL_MD_TABLE,     /* children: ROWs (the first is the header) */
  DISTILL_MD_ROW,       /* children: CELLs */
  DISTILL_MD_CELL,      /* text: markup; align; header */
  DISTILL_MD_MATH,      /* text: markup of a display formula */
  DISTILL_MD_BOXED,     /* text: markup of a \boxed{} answer */
} DistillMdKind;

typedef enum {
  DISTILL_MD_ALIGN_DEFAULT,
  DISTILL_MD_ALIGN_LEFT,
  DISTILL_MD_ALIGN_CENTER,
  DISTILL_MD_ALIGN_RIGHT,
} DistillMdAlign;

typedef struct _DistillMdNode DistillMdNode;
struct _DistillMdNode {
  DistillMdKind kind;
  int level;
  int number;
  gboolean ordered;
  gboolean header;
  DistillMdAlign align;
  char *text;
  char *lang;
  GPtrArray *children; /* of DistillMdNode, owned references; NULL for leaves */
};

/* Nodes are reference counted (g_rc_box): a widget keeps the node it shows. */
DistillMdNode *distill_md_node_ref(DistillMdNode *node);
void distill_md_node_unref(DistillMdNode *node);
gboolean distill_md_node_equal(const DistillMdNode *a, const DistillMdNode *b);

/* Parses one segment of (valid UTF-8) text into its top-level block nodes. */
GPtrArray *distill_md_parse(const char *text, gsize len);

/* The first cut after start (a line start in (start, len]) before which the
 * text is final, or 0 when there is none yet. Depends only on text[start,
 * cut] and the few bytes after the cut, so a cut found in a prefix stays a cut. */
gsize distill_md_next_cut(const char *text, gsize start, gsize len);

/* Appends data[0, len) to dest as valid UTF-8 without NULs (invalid bytes
 * become U+FFFD, one per byte, like g_utf8_make_valid). A sequence cut at
 * the end that may still be completed is not appended: returns how many
 * bytes were consumed; the caller keeps the rest for the next call. */
gsize distill_md_append_valid(GString *dest, const char *data, gsize len);

G_END_DECLS
