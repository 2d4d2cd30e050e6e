/* distill-markdown.h — a widget that shows Markdown as DeepSeek-R1 writes it.
 *
 * DistillMarkdownView is a vertical GtkBox with one child per top-level
 * block: paragraphs and headings (GtkLabel with Pango markup, selectable,
 * links open in the browser), code blocks (GtkSourceView with highlighting
 * for the fence's language, a header with the language and a Copy button),
 * lists (nested, numbered, task check boxes), block quotes, rules, tables
 * (GtkGrid), display formulas (LaTeX made readable: see
 * distill-markdown-math.h) and \boxed{} answers (a box with CSS class
 * "boxed-answer").
 *
 * Streaming: distill_markdown_view_append() adds model output as it comes.
 * Blocks that later text cannot change keep their widgets; only the last
 * open block(s) are parsed again, and widgets whose content did not change
 * are kept too. Rendering is synchronous: when append() returns, the widgets
 * show the text. Any bytes are accepted: invalid UTF-8 is shown as U+FFFD, a
 * character split between two appends is shown once complete, and text is
 * escaped so that it can never break the markup. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DISTILL_TYPE_MARKDOWN_VIEW (distill_markdown_view_get_type())
G_DECLARE_FINAL_TYPE(DistillMarkdownView, distill_markdown_view, DISTILL, MARKDOWN_VIEW, GtkBox)

/* An empty view. */
GtkWidget *distill_markdown_view_new(void);

/* Replaces the whole text (NULL: empty). Same result as clearing and
 * appending markdown in any number of pieces. */
void distill_markdown_view_set_text(DistillMarkdownView *self, const char *markdown);

/* Appends len bytes (-1: up to the NUL) and updates the widgets. */
void distill_markdown_view_append(DistillMarkdownView *self, const char *delta, gssize len);

/* The text shown so far (valid UTF-8; bytes of a character not yet complete
 * are not included). Owned by the view; valid until the next change. */
const char *distill_markdown_view_get_text(DistillMarkdownView *self);

G_END_DECLS
