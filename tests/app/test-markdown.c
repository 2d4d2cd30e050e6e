/* test-markdown.c — DistillMarkdownView: Markdown as DeepSeek-R1 writes it
 * becomes the right widgets; LaTeX becomes readable text; streaming gives
 * the same widgets as the whole text and keeps the finished blocks' widgets;
 * hostile input renders without a warning (warnings are fatal here).
 *
 * With DISTILL_SHOTS_DIR set, /markdown/screenshots also saves PNGs of the
 * fixture documents, light and dark. */
#include "config.h"

#include <string.h>

#include <adwaita.h>
#include <gtksourceview/gtksource.h>

#include "distill-markdown-math.h"
#include "distill-markdown-parse.h"
#include "distill-markdown.h"
#include "distill-resources.h"

static const char *const fixtures[] = {
  "code.md", "table.md", "nested-list.md", "boxed.md", "headings-links.md", "streaming.md",
};

/* ---- helpers ------------------------------------------------------------- */

static char *load_fixture(const char *name)
{
  char *path = g_build_filename(MARKDOWN_FIXTURES_DIR, name, NULL);
  char *text = NULL;
  GError *error = NULL;
  g_file_get_contents(path, &text, NULL, &error);
  g_assert_no_error(error);
  g_free(path);
  return text;
}

static DistillMarkdownView *new_view(void)
{
  return DISTILL_MARKDOWN_VIEW(g_object_ref_sink(distill_markdown_view_new()));
}

static guint n_children(GtkWidget *widget)
{
  guint n = 0;
  for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) n++;
  return n;
}

static GtkWidget *child_at(GtkWidget *widget, guint index)
{
  GtkWidget *c = gtk_widget_get_first_child(widget);
  for (guint i = 0; i < index && c; i++) c = gtk_widget_get_next_sibling(c);
  g_assert_nonnull(c);
  return c;
}

static GtkWidget *find_type(GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE(widget, type)) return widget;
  for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *hit = find_type(c, type);
    if (hit) return hit;
  }
  return NULL;
}

static GtkWidget *find_class(GtkWidget *widget, const char *css_class)
{
  if (gtk_widget_has_css_class(widget, css_class)) return widget;
  for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *hit = find_class(c, css_class);
    if (hit) return hit;
  }
  return NULL;
}

static const char *label_text(GtkWidget *widget)
{
  g_assert_true(GTK_IS_LABEL(widget));
  return gtk_label_get_text(GTK_LABEL(widget));
}

static char *buffer_text(GtkWidget *source_view)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer(GTK_TEXT_VIEW(source_view));
  GtkTextIter a, b;
  gtk_text_buffer_get_bounds(buffer, &a, &b);
  return gtk_text_buffer_get_text(buffer, &a, &b, FALSE);
}

/* A list item row: [marker, content box]. */
static GtkWidget *item_content(GtkWidget *item)
{
  g_assert_true(gtk_widget_has_css_class(item, "md-list-item"));
  return gtk_widget_get_last_child(item);
}

/* Everything a reader could tell apart, as text: types, CSS classes, label
 * markup and alignment, code and its language, check states, grid cells. */
static void describe(GtkWidget *widget, GString *out, int depth)
{
  g_string_append_printf(out, "%*s%s", depth * 2, "", G_OBJECT_TYPE_NAME(widget));
  char **classes = gtk_widget_get_css_classes(widget);
  for (char **c = classes; *c; c++) g_string_append_printf(out, " .%s", *c);
  g_strfreev(classes);
  GtkWidget *parent = gtk_widget_get_parent(widget);
  if (parent && GTK_IS_GRID(parent)) {
    int col, row, w, h;
    gtk_grid_query_child(GTK_GRID(parent), widget, &col, &row, &w, &h);
    g_string_append_printf(out, " @%d,%d", col, row);
  }
  if (GTK_IS_LABEL(widget))
    g_string_append_printf(out, " label=[%s] x=%.2f", gtk_label_get_label(GTK_LABEL(widget)),
                           gtk_label_get_xalign(GTK_LABEL(widget)));
  if (ADW_IS_BUTTON_CONTENT(widget))
    g_string_append_printf(out, " button=[%s]", adw_button_content_get_label(ADW_BUTTON_CONTENT(widget)));
  if (GTK_IS_CHECK_BUTTON(widget))
    g_string_append_printf(out, " active=%d", gtk_check_button_get_active(GTK_CHECK_BUTTON(widget)));
  if (GTK_SOURCE_IS_VIEW(widget)) {
    char *code = buffer_text(widget);
    GtkSourceLanguage *lang =
      gtk_source_buffer_get_language(GTK_SOURCE_BUFFER(gtk_text_view_get_buffer(GTK_TEXT_VIEW(widget))));
    g_string_append_printf(out, " lang=%s code=[%s]", lang ? gtk_source_language_get_id(lang) : "-", code);
    g_free(code);
  }
  g_string_append_c(out, '\n');
  if (GTK_IS_TEXT_VIEW(widget) || GTK_IS_CHECK_BUTTON(widget)) return;
  for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c))
    describe(c, out, depth + 1);
}

static char *tree(DistillMarkdownView *view)
{
  GString *out = g_string_new(NULL);
  describe(GTK_WIDGET(view), out, 0);
  return g_string_free(out, FALSE);
}

static void iterate(void)
{
  while (g_main_context_pending(NULL)) g_main_context_iteration(NULL, FALSE);
}

/* ---- LaTeX → text ----------------------------------------------------------- */

static void check_math(const char *tex, const char *expected)
{
  char *text = distill_math_to_text(tex, -1);
  if (g_strcmp0(text, expected) != 0) g_test_message("%s → [%s], expected [%s]", tex, text, expected);
  g_assert_cmpstr(text, ==, expected);
  g_free(text);
}

static void test_math_convert(void)
{
  check_math("\\frac{a}{b}", "a/b");
  check_math("\\dfrac{300}{4}", "300/4");
  check_math("\\frac{300\\text{ km}}{4\\text{ h}}", "(300 km)/(4 h)");
  check_math("\\frac{n(n+1)}{2}", "(n(n+1))/2");
  check_math("x^2 + y^{10}", "x² + y¹⁰");
  check_math("a_1 + a_{n} + a_{n-1}", "a₁ + aₙ + aₙ₋₁");
  check_math("e^{-x}", "e⁻ˣ");
  check_math("\\text{km/h}", "km/h");
  check_math("75\\text{ km/h}", "75 km/h");
  check_math("\\alpha + \\beta = \\gamma", "α + β = γ");
  check_math("\\Delta \\pi \\Omega \\theta \\lambda \\mu \\sigma", "Δ π Ω θ λ μ σ");
  check_math("a \\times b \\cdot c", "a × b · c");
  check_math("x \\le 1 \\ge 0 \\neq 2 \\approx 3 \\pm 4", "x ≤ 1 ≥ 0 ≠ 2 ≈ 3 ± 4");
  check_math("\\sqrt{x}", "√x");
  check_math("\\sqrt{x + 1}", "√(x + 1)");
  check_math("\\sqrt[3]{8}", "∛8");
  check_math("\\left( a + b \\right)", "(a + b)");
  check_math("\\infty \\sum \\int \\partial", "∞ ∑ ∫ ∂");
  check_math("a\\,b\\;c\\quad d", "a\u2009b\u2005c\u2003d");
  check_math("90^\\circ", "90°");
  check_math("\\mathbb{R}^n", "ℝⁿ");
  check_math("f'(x)", "f′(x)");
  check_math("x - 1", "x − 1");
  check_math("\\binom{n}{k}", "C(n, k)");
  check_math("\\unknowncommand", "unknowncommand");
  check_math("\\sin x + \\log_2 y", "sin x + log₂ y");
  check_math("\\{1, 2\\} \\% \\$", "{1, 2} % $");

  /* \boxed: its content; flagged; highlighted only in running text */
  gboolean boxed = FALSE;
  char *markup = distill_math_to_markup("\\boxed{75\\text{ km/h}}", -1, DISTILL_MATH_NONE, &boxed);
  g_assert_true(boxed);
  g_assert_cmpstr(markup, ==, "75 km/h");
  g_free(markup);
  markup = distill_math_to_markup("x = \\boxed{5}", -1, DISTILL_MATH_HIGHLIGHT_BOXED, &boxed);
  g_assert_true(boxed);
  g_assert_nonnull(strstr(markup, "bgcolor="));
  g_free(markup);
  markup = distill_math_to_markup("x = 5", -1, DISTILL_MATH_HIGHLIGHT_BOXED, &boxed);
  g_assert_false(boxed);
  g_free(markup);
  g_assert_true(distill_math_has_boxed("\\boxed{1}", -1));
  g_assert_false(distill_math_has_boxed("\\\\boxed{1}", -1)); /* a line break, then "boxed" */

  /* letters of math are italic, \text is not; a script without Unicode form uses <sub> */
  markup = distill_math_to_markup("x + \\text{cm}", -1, DISTILL_MATH_NONE, NULL);
  g_assert_cmpstr(markup, ==, "<i>x</i> + cm");
  g_free(markup);
  markup = distill_math_to_markup("v_{avg}", -1, DISTILL_MATH_NONE, NULL);
  g_assert_nonnull(strstr(markup, "<sub>"));
  g_free(markup);
  check_math("v_{avg}", "vavg");
}

/* Nothing the model writes can make invalid markup. */
static void test_math_robust(void)
{
  const char *inputs[] = {
    "", "\\", "{", "}", "{{{", "}}}", "^", "_", "^^__", "\\frac{", "\\frac{1}", "\\sqrt[", "\\sqrt[3",
    "\\text{", "\\left", "\\right", "\\begin{", "a < b & c > d", "<b>x</b>", "&amp;", "\\boxed{",
    "\\boxed{\\boxed{1}}", "x^{\\frac{1}{2}}", "\\overline{AB}", "\\vec{&}", "\\mathbb{", "\\not",
    "\\not=", "\\\\", "\\\\[2pt]", "''", "~", "\xff\xfe", "a\\", "\\text{<i>}", "\\operatorname*{arg\\,max}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(inputs); i++) {
    for (int flags = 0; flags < 4; flags++) {
      char *markup = distill_math_to_markup(inputs[i], -1, flags, NULL);
      GError *error = NULL;
      g_assert_true(pango_parse_markup(markup, -1, 0, NULL, NULL, NULL, &error));
      g_assert_no_error(error);
      g_assert_true(g_utf8_validate(markup, -1, NULL));
      g_free(markup);
    }
  }
  /* deep nesting is cut off, not recursed into without end */
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 20000; i++) g_string_append(deep, "{\\frac{x^");
  char *markup = distill_math_to_markup(deep->str, -1, DISTILL_MATH_NONE, NULL);
  g_assert_true(pango_parse_markup(markup, -1, 0, NULL, NULL, NULL, NULL));
  g_free(markup);
  g_string_free(deep, TRUE);
}

/* ---- math in Markdown ------------------------------------------------------------ */

static void test_math_protected(void)
{
  DistillMarkdownView *view = new_view();
  GtkWidget *w = GTK_WIDGET(view);

  /* \[ … \] is an escaped bracket to md4c: it must still arrive as math */
  distill_markdown_view_set_text(view, "Hence\n\\[\nx = \\frac{1}{2} \\times 3\n\\]\nwhich is it.");
  g_assert_cmpuint(n_children(w), ==, 3);
  g_assert_cmpstr(label_text(child_at(w, 0)), ==, "Hence");
  g_assert_true(gtk_widget_has_css_class(child_at(w, 1), "md-math-display"));
  g_assert_cmpstr(label_text(child_at(w, 1)), ==, "x = 1/2 × 3");
  g_assert_cmpstr(label_text(child_at(w, 2)), ==, "which is it.");

  /* $$ … $$ on its own, and \( … \) inline */
  distill_markdown_view_set_text(view, "$$a^2 + b^2 = c^2$$\n\nso \\(c = \\sqrt{a^2+b^2}\\) holds.");
  g_assert_cmpuint(n_children(w), ==, 2);
  g_assert_cmpstr(label_text(child_at(w, 0)), ==, "a² + b² = c²");
  g_assert_cmpstr(label_text(child_at(w, 1)), ==, "so c = √(a²+b²) holds.");

  /* * and _ inside math are no emphasis; dollars of prices stay text */
  distill_markdown_view_set_text(view, "$a*b$ and $c*d$, $x_1$ and $y_1$; it costs $5 and $10.");
  g_assert_cmpstr(label_text(child_at(w, 0)), ==, "a∗b and c∗d, x₁ and y₁; it costs $5 and $10.");
  g_assert_null(strstr(gtk_label_get_label(GTK_LABEL(child_at(w, 0))), "<b>"));

  /* escaped dollars; math in code stays as written */
  distill_markdown_view_set_text(view, "Price: \\$3, code `$x^2$` and `\\[a\\]`\n\n```latex\n\\[ x^2 \\] and $y$\n```");
  g_assert_cmpstr(label_text(child_at(w, 0)), ==, "Price: $3, code $x^2$ and \\[a\\]");
  char *code = buffer_text(find_type(child_at(w, 1), GTK_SOURCE_TYPE_VIEW));
  g_assert_cmpstr(code, ==, "\\[ x^2 \\] and $y$");
  g_free(code);

  /* a boxed answer: display math, bare on its line, or inline $…$ alone */
  const char *boxed_docs[] = {
    "**Final Answer**\n\\[\n\\boxed{75\\text{ km/h}}\n\\]",
    "**Final Answer**\n\n\\boxed{75\\text{ km/h}}",
    "**Final Answer**\n\n$\\boxed{75\\text{ km/h}}$",
    "**Final Answer**\n$$\\boxed{75 \\text{ km/h}}$$",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(boxed_docs); i++) {
    distill_markdown_view_set_text(view, boxed_docs[i]);
    g_assert_cmpuint(n_children(w), ==, 2);
    g_assert_cmpstr(label_text(child_at(w, 0)), ==, "Final Answer");
    GtkWidget *box = child_at(w, 1);
    g_assert_true(gtk_widget_has_css_class(box, "boxed-answer"));
    g_assert_cmpstr(label_text(gtk_widget_get_first_child(box)), ==, "75 km/h");
  }

  /* at the end of a paragraph: the text, then the box */
  const char *trailing[] = {
    "**Final Answer:** \\boxed{100}",
    "**Final Answer:** $\\boxed{100}$.",
    "**Final Answer:** \\(\\boxed{100}\\)",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(trailing); i++) {
    distill_markdown_view_set_text(view, trailing[i]);
    g_assert_cmpuint(n_children(w), ==, 2);
    g_assert_cmpstr(gtk_label_get_label(GTK_LABEL(child_at(w, 0))), ==, "<b>Final Answer:</b>");
    g_assert_true(gtk_widget_has_css_class(child_at(w, 1), "boxed-answer"));
    g_assert_cmpstr(label_text(gtk_widget_get_first_child(child_at(w, 1))), ==, "100");
  }

  /* inside running text a boxed value is highlighted, not a block */
  distill_markdown_view_set_text(view, "The answer is $\\boxed{42}$ here.");
  g_assert_cmpuint(n_children(w), ==, 1);
  g_assert_true(gtk_widget_has_css_class(child_at(w, 0), "md-paragraph"));
  g_assert_nonnull(strstr(gtk_label_get_label(GTK_LABEL(child_at(w, 0))), "bgcolor"));

  /* a display formula still being written shows as a formula */
  distill_markdown_view_set_text(view, "So\n\\[\nx = \\frac{1}{2");
  g_assert_cmpuint(n_children(w), ==, 2);
  g_assert_true(gtk_widget_has_css_class(child_at(w, 1), "md-math-display"));
  g_object_unref(view);
}

/* ---- fixtures ----------------------------------------------------------------------- */

static gboolean copied_text_ready(gpointer data)
{
  return *(char **)data != NULL;
}

static void on_clipboard_text(GObject *clipboard, GAsyncResult *result, gpointer data)
{
  GError *error = NULL;
  char *text = gdk_clipboard_read_text_finish(GDK_CLIPBOARD(clipboard), result, &error);
  g_assert_no_error(error);
  *(char **)data = text ? text : g_strdup("");
}

static void test_fixture_code(void)
{
  DistillMarkdownView *view = new_view();
  GtkWidget *w = GTK_WIDGET(view);
  char *doc = load_fixture("code.md");
  distill_markdown_view_set_text(view, doc);

  /* paragraph, code, paragraph, list, paragraph */
  g_assert_cmpuint(n_children(w), ==, 5);
  GtkWidget *intro = child_at(w, 0);
  g_assert_true(gtk_widget_has_css_class(intro, "md-paragraph"));
  g_assert_true(g_str_has_prefix(label_text(intro), "Here's a Python function that finds the k most frequent"));
  g_assert_nonnull(strstr(gtk_label_get_label(GTK_LABEL(intro)), "<i>k</i>"));
  g_assert_nonnull(strstr(gtk_label_get_label(GTK_LABEL(intro)), "font_family=\"monospace\""));
  g_assert_true(gtk_label_get_selectable(GTK_LABEL(intro)));
  g_assert_true(gtk_label_get_wrap(GTK_LABEL(intro)));

  GtkWidget *block = child_at(w, 1);
  g_assert_true(gtk_widget_has_css_class(block, "md-code-block"));
  GtkWidget *source = find_type(block, GTK_SOURCE_TYPE_VIEW);
  g_assert_nonnull(source);
  g_assert_false(gtk_text_view_get_editable(GTK_TEXT_VIEW(source)));
  g_assert_true(gtk_text_view_get_monospace(GTK_TEXT_VIEW(source)));
  char *code = buffer_text(source);
  g_assert_true(g_str_has_prefix(code, "from collections import Counter\nimport re\n"));
  g_assert_nonnull(strstr(code, "def top_words(text: str, k: int = 3) -> list[tuple[str, int]]:\n"));
  g_assert_true(g_str_has_suffix(code, "    # [('the', 3), ('and', 2)]"));
  GtkSourceBuffer *buffer = GTK_SOURCE_BUFFER(gtk_text_view_get_buffer(GTK_TEXT_VIEW(source)));
  g_assert_cmpstr(gtk_source_language_get_id(gtk_source_buffer_get_language(buffer)), ==, "python3");
  g_assert_true(gtk_source_buffer_get_highlight_syntax(buffer));
  g_assert_cmpstr(label_text(find_class(block, "md-code-lang")), ==, "Python");

  /* Copy puts the code on the clipboard and says so */
  GtkWidget *copy = find_class(block, "md-code-copy");
  AdwButtonContent *content = ADW_BUTTON_CONTENT(gtk_button_get_child(GTK_BUTTON(copy)));
  g_assert_cmpstr(adw_button_content_get_label(content), ==, "Copy");
  g_signal_emit_by_name(copy, "clicked");
  g_assert_cmpstr(adw_button_content_get_label(content), ==, "Copied");
  char *copied = NULL;
  gdk_clipboard_read_text_async(gtk_widget_get_clipboard(copy), NULL, on_clipboard_text, &copied);
  gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
  while (!copied_text_ready(&copied) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, TRUE);
  g_assert_cmpstr(copied, ==, code);
  g_free(copied);
  g_free(code);
  /* … and goes back to "Copy" after a moment */
  end = g_get_monotonic_time() + 4 * G_USEC_PER_SEC;
  while (g_strcmp0(adw_button_content_get_label(content), "Copy") != 0 && g_get_monotonic_time() < end)
    g_main_context_iteration(NULL, TRUE);
  g_assert_cmpstr(adw_button_content_get_label(content), ==, "Copy");
  g_assert_cmpstr(adw_button_content_get_icon_name(content), ==, "edit-copy-symbolic");

  g_assert_cmpstr(label_text(child_at(w, 2)), ==, "How it works:");
  GtkWidget *list = child_at(w, 3);
  g_assert_true(gtk_widget_has_css_class(list, "md-list-ordered"));
  g_assert_cmpuint(n_children(list), ==, 2);
  g_assert_cmpstr(label_text(gtk_widget_get_first_child(child_at(list, 1))), ==, "2.");
  g_assert_cmpstr(label_text(child_at(item_content(child_at(list, 0)), 0)), ==,
                  "re.findall splits the text into lowercase words.");
  g_assert_cmpstr(label_text(child_at(w, 4)), ==,
                  "The whole thing runs in O(n + m log k) time for n characters and m distinct words.");
  g_free(doc);
  g_object_unref(view);
}

static void test_fixture_table(void)
{
  DistillMarkdownView *view = new_view();
  GtkWidget *w = GTK_WIDGET(view);
  char *doc = load_fixture("table.md");
  distill_markdown_view_set_text(view, doc);

  g_assert_cmpuint(n_children(w), ==, 3);
  GtkWidget *heading = child_at(w, 0);
  g_assert_true(gtk_widget_has_css_class(heading, "title-3"));
  g_assert_cmpint(gtk_accessible_get_accessible_role(GTK_ACCESSIBLE(heading)), ==, GTK_ACCESSIBLE_ROLE_HEADING);
  g_assert_cmpstr(label_text(heading), ==, "Comparison of Sorting Algorithms");

  GtkWidget *grid = child_at(w, 1);
  g_assert_true(GTK_IS_GRID(grid));
  g_assert_cmpuint(n_children(grid), ==, 5 * 4);
  const char *expected[5][4] = {
    {"Algorithm", "Best case", "Worst case", "Stable?"},
    {"Quicksort", "O(n log n)", "O(n²)", "No"},
    {"Merge sort", "O(n log n)", "O(n log n)", "Yes"},
    {"Insertion sort", "O(n)", "O(n²)", "Yes"},
    {"Heapsort", "O(n log n)", "O(n log n)", "No"},
  };
  const float xalign[4] = {0.0f, 0.5f, 1.0f, 0.0f};
  for (int r = 0; r < 5; r++) {
    for (int c = 0; c < 4; c++) {
      GtkWidget *cell = gtk_grid_get_child_at(GTK_GRID(grid), c, r);
      g_assert_cmpstr(label_text(cell), ==, expected[r][c]);
      g_assert_cmpfloat(gtk_label_get_xalign(GTK_LABEL(cell)), ==, xalign[c]);
      g_assert_true(gtk_widget_has_css_class(cell, "md-table-cell"));
      g_assert_cmpint(gtk_widget_has_css_class(cell, "md-table-header"), ==, r == 0);
    }
  }
  g_assert_cmpstr(gtk_label_get_label(GTK_LABEL(gtk_grid_get_child_at(GTK_GRID(grid), 3, 4))), ==, "<b>No</b>");
  g_assert_cmpstr(label_text(child_at(w, 2)), ==, "For nearly sorted data, insertion sort is often the fastest in practice.");
  g_free(doc);
  g_object_unref(view);
}

static void test_fixture_nested_list(void)
{
  DistillMarkdownView *view = new_view();
  GtkWidget *w = GTK_WIDGET(view);
  char *doc = load_fixture("nested-list.md");
  distill_markdown_view_set_text(view, doc);

  /* paragraph, list, quote, rule, paragraph */
  g_assert_cmpuint(n_children(w), ==, 5);
  GtkWidget *list = child_at(w, 1);
  g_assert_true(gtk_widget_has_css_class(list, "md-list-ordered"));
  g_assert_cmpuint(n_children(list), ==, 3);
  const char *titles[] = {"Install the tools", "Create the environment", "Check your work"};
  for (guint i = 0; i < 3; i++) {
    GtkWidget *item = child_at(list, i);
    char number[8];
    g_snprintf(number, sizeof number, "%u.", i + 1);
    g_assert_cmpstr(label_text(gtk_widget_get_first_child(item)), ==, number);
    g_assert_cmpstr(label_text(child_at(item_content(item), 0)), ==, titles[i]);
  }
  /* level 2 and 3 bullets */
  GtkWidget *inner = child_at(item_content(child_at(list, 0)), 1);
  g_assert_true(gtk_widget_has_css_class(inner, "md-list"));
  g_assert_false(gtk_widget_has_css_class(inner, "md-list-ordered"));
  g_assert_cmpuint(n_children(inner), ==, 2);
  g_assert_cmpstr(label_text(gtk_widget_get_first_child(child_at(inner, 0))), ==, "◦");
  g_assert_cmpstr(label_text(child_at(item_content(child_at(inner, 0)), 0)), ==, "Python 3.11 or newer");
  GtkWidget *third = child_at(item_content(child_at(inner, 1)), 1);
  g_assert_cmpstr(label_text(gtk_widget_get_first_child(child_at(third, 0))), ==, "▪");
  g_assert_cmpstr(label_text(child_at(item_content(child_at(third, 0)), 0)), ==,
                  "on Debian: sudo apt install python3-venv");
  /* task items: read-only check boxes */
  GtkWidget *tasks = child_at(item_content(child_at(list, 2)), 1);
  GtkWidget *done = gtk_widget_get_first_child(child_at(tasks, 0));
  GtkWidget *open = gtk_widget_get_first_child(child_at(tasks, 1));
  g_assert_true(GTK_IS_CHECK_BUTTON(done) && GTK_IS_CHECK_BUTTON(open));
  g_assert_true(gtk_check_button_get_active(GTK_CHECK_BUTTON(done)));
  g_assert_false(gtk_check_button_get_active(GTK_CHECK_BUTTON(open)));
  g_assert_false(gtk_widget_get_can_target(done));
  g_assert_cmpstr(label_text(child_at(item_content(child_at(tasks, 1)), 0)), ==, "Environment created");

  GtkWidget *quote = child_at(w, 2);
  g_assert_true(gtk_widget_has_css_class(quote, "md-blockquote"));
  g_assert_cmpstr(label_text(child_at(quote, 0)), ==, "Note: on Windows, use .venv\\Scripts\\activate instead.");
  g_assert_true(GTK_IS_SEPARATOR(child_at(w, 3)));
  g_assert_cmpstr(label_text(child_at(w, 4)), ==, "That's it!");
  g_free(doc);
  g_object_unref(view);
}

static void test_fixture_boxed(void)
{
  DistillMarkdownView *view = new_view();
  GtkWidget *w = GTK_WIDGET(view);
  char *doc = load_fixture("boxed.md");
  distill_markdown_view_set_text(view, doc);

  const char *expected[][2] = {
    {"md-paragraph", "To find the average speed for the whole trip, divide the total distance by the total time."},
    {"md-paragraph", "Step 1: Total distance"},
    {"md-paragraph", "The train travels 120 km and then 180 km:"},
    {"md-math-display", "d = 120 km + 180 km = 300 km"},
    {"md-paragraph", "Step 2: Total time"},
    {"md-paragraph", "The first part takes 120/60 = 2 hours and the second 180/90 = 2 hours, so t = 4 h."},
    {"md-paragraph", "Step 3: Average speed"},
    {"md-math-display", "vavg = d/t = (300 km)/(4 h) = 75 km/h"},
    {"md-paragraph", "Note that this is not the harmonic mean of 60 and 90, which is 72 km/h: the average speed "
                     "weights each part by its time, and here the times are equal, t₁ = t₂."},
    {"md-paragraph", "Final Answer"},
  };
  g_assert_cmpuint(n_children(w), ==, G_N_ELEMENTS(expected) + 1);
  for (guint i = 0; i < G_N_ELEMENTS(expected); i++) {
    g_assert_true(gtk_widget_has_css_class(child_at(w, i), expected[i][0]));
    g_assert_cmpstr(label_text(child_at(w, i)), ==, expected[i][1]);
  }
  GtkWidget *box = gtk_widget_get_last_child(w);
  g_assert_true(gtk_widget_has_css_class(box, "boxed-answer"));
  g_assert_cmpint(gtk_widget_get_halign(box), ==, GTK_ALIGN_CENTER);
  g_assert_cmpstr(label_text(gtk_widget_get_first_child(box)), ==, "75 km/h");
  g_free(doc);
  g_object_unref(view);
}

static void test_fixture_headings_links(void)
{
  DistillMarkdownView *view = new_view();
  GtkWidget *w = GTK_WIDGET(view);
  char *doc = load_fixture("headings-links.md");
  distill_markdown_view_set_text(view, doc);

  g_assert_cmpuint(n_children(w), ==, 8);
  g_assert_true(gtk_widget_has_css_class(child_at(w, 0), "title-1"));
  g_assert_cmpstr(label_text(child_at(w, 0)), ==, "Getting Started with Rust");
  g_assert_true(gtk_widget_has_css_class(child_at(w, 2), "title-2"));
  g_assert_true(gtk_widget_has_css_class(child_at(w, 4), "title-3"));
  g_assert_true(gtk_widget_has_css_class(child_at(w, 6), "title-4"));

  GtkWidget *intro = child_at(w, 1);
  const char *markup = gtk_label_get_label(GTK_LABEL(intro));
  g_assert_nonnull(strstr(markup, "<i>systems</i>"));
  g_assert_nonnull(strstr(markup, "<b>safety</b>"));
  g_assert_nonnull(strstr(markup, "<s>garbage collection</s>"));
  g_assert_nonnull(strstr(markup, "<a href=\"https://doc.rust-lang.org/book/\">official book</a>"));
  g_assert_nonnull(strstr(markup, "<a href=\"https://www.rust-lang.org\">https://www.rust-lang.org</a>"));
  g_assert_cmpstr(label_text(intro), ==,
                  "Rust is a systems programming language focused on safety, speed and garbage collection "
                  "zero-cost abstractions. See the official book or visit https://www.rust-lang.org for more.");
  g_assert_nonnull(strstr(gtk_label_get_label(GTK_LABEL(child_at(w, 3))), "&amp;mut T"));
  g_assert_cmpuint(n_children(child_at(w, 5)), ==, 2);
  g_assert_nonnull(strstr(gtk_label_get_label(GTK_LABEL(child_at(w, 7))), "href=\"https://users.rust-lang.org\""));
  g_free(doc);
  g_object_unref(view);
}

/* ---- streaming --------------------------------------------------------------------------- */

/* Appends doc in pieces of 1–max bytes (pattern from seed): splits UTF-8
 * characters, fences, "\[" and "**" anywhere. */
static void stream(DistillMarkdownView *view, const char *doc, guint seed, guint max)
{
  GRand *rand = g_rand_new_with_seed(seed);
  gsize len = strlen(doc);
  for (gsize at = 0; at < len;) {
    gsize want = (gsize)g_rand_int_range(rand, 1, (gint32)max + 1); /* not inside MIN(): evaluated twice */
    gsize n = MIN(want, len - at);
    distill_markdown_view_append(view, doc + at, (gssize)n);
    at += n;
  }
  g_rand_free(rand);
}

static void test_streaming_same_tree(void)
{
  for (gsize f = 0; f < G_N_ELEMENTS(fixtures); f++) {
    char *doc = load_fixture(fixtures[f]);
    DistillMarkdownView *whole = new_view();
    distill_markdown_view_set_text(whole, doc);
    char *expected = tree(whole);

    for (guint seed = 1; seed <= 8; seed++) {
      DistillMarkdownView *streamed = new_view();
      stream(streamed, doc, seed, seed == 1 ? 1 : 7);
      g_assert_cmpstr(distill_markdown_view_get_text(streamed), ==, doc);
      char *got = tree(streamed);
      if (strcmp(got, expected) != 0) g_test_message("%s, seed %u", fixtures[f], seed);
      g_assert_cmpstr(got, ==, expected);
      g_free(got);
      g_object_unref(streamed);
    }
    g_free(expected);
    g_object_unref(whole);
    g_free(doc);
  }
}

static void test_streaming_keeps_widgets(void)
{
  char *doc = load_fixture("streaming.md");
  const char *mark = strstr(doc, "A quick check in Python");
  const char *in_code = strstr(doc, "assert odd_sum");
  g_assert_nonnull(mark);
  g_assert_nonnull(in_code);
  gsize len = strlen(doc);
  DistillMarkdownView *view = new_view();
  GtkWidget *w = GTK_WIDGET(view);

  GtkWidget *kept[8] = {NULL};
  gpointer weak[8] = {NULL};
  guint n_kept = 0;
  GtkWidget *code_block = NULL, *code_view = NULL, *para = NULL;
  GPtrArray *para_states = g_ptr_array_new();

  for (gsize at = 0; at < len; at += 3) {
    gsize n = MIN(3, len - at);
    distill_markdown_view_append(view, doc + at, (gssize)n);
    const char *upto = doc + at + n;

    /* the paragraph being written is one label, updated in place */
    if (upto > doc + 60 && upto < doc + 130) {
      GtkWidget *last = gtk_widget_get_last_child(w);
      g_assert_true(GTK_IS_LABEL(last));
      if (!para) para = last;
      g_assert_true(last == para);
      g_ptr_array_add(para_states, g_strdup(gtk_label_get_text(GTK_LABEL(last))));
    }
    /* once the table is complete, the blocks up to it are final */
    if (!n_kept && upto > mark) {
      n_kept = n_children(w) - 1; /* all but the paragraph being written */
      g_assert_cmpuint(n_kept, ==, 7);
      for (guint i = 0; i < n_kept; i++) {
        kept[i] = child_at(w, i);
        weak[i] = kept[i];
        g_object_add_weak_pointer(G_OBJECT(kept[i]), &weak[i]);
      }
      g_assert_true(GTK_IS_GRID(kept[6]));
    }
    /* the open code block grows in its own widget */
    if (upto > in_code && !code_block) {
      code_block = find_class(w, "md-code-block");
      code_view = find_type(code_block, GTK_SOURCE_TYPE_VIEW);
      g_object_add_weak_pointer(G_OBJECT(code_block), (gpointer *)&code_block);
    }
  }
  g_assert_cmpuint(n_kept, ==, 7);
  for (guint i = 0; i < n_kept; i++) {
    g_assert_nonnull(weak[i]);
    g_assert_true(child_at(w, i) == kept[i]);
    g_object_remove_weak_pointer(G_OBJECT(kept[i]), &weak[i]);
  }
  g_assert_nonnull(code_block);
  g_assert_true(find_type(code_block, GTK_SOURCE_TYPE_VIEW) == code_view);
  char *code = buffer_text(code_view);
  g_assert_true(g_str_has_suffix(code, "assert odd_sum(10) == 100  # 10² = 100 ✓"));
  g_free(code);
  g_object_remove_weak_pointer(G_OBJECT(code_block), (gpointer *)&code_block);
  g_assert_true(para_states->len > 10);
  g_assert_cmpstr(gtk_label_get_text(GTK_LABEL(para)), ==,
                  "We need the sum of the first n odd numbers, where n = 10. Compare: 1 + 3 + 5 + … = ?");

  /* the final tree is the one of the whole text */
  DistillMarkdownView *whole = new_view();
  distill_markdown_view_set_text(whole, doc);
  char *a = tree(view), *b = tree(whole);
  g_assert_cmpstr(a, ==, b);
  g_free(a);
  g_free(b);
  g_object_unref(whole);
  g_ptr_array_set_free_func(para_states, g_free);
  g_ptr_array_unref(para_states);
  g_object_unref(view);
  g_free(doc);
}

/* Cuts are only ever made where later text cannot change what came before:
 * for every prefix of every fixture, each cut is also a cut of the whole. */
static void test_cuts_stable(void)
{
  for (gsize f = 0; f < G_N_ELEMENTS(fixtures); f++) {
    char *doc = load_fixture(fixtures[f]);
    gsize len = strlen(doc);
    GArray *cuts = g_array_new(FALSE, FALSE, sizeof(gsize));
    for (gsize start = 0, cut; (cut = distill_md_next_cut(doc, start, len)) != 0; start = cut)
      g_array_append_val(cuts, cut);
    g_assert_cmpuint(cuts->len, >=, 2);
    for (gsize n = 1; n < len; n++) {
      guint k = 0;
      for (gsize start = 0, cut; (cut = distill_md_next_cut(doc, start, n)) != 0; start = cut, k++) {
        g_assert_cmpuint(k, <, cuts->len);
        g_assert_cmpuint(cut, ==, g_array_index(cuts, gsize, k));
      }
    }
    g_array_unref(cuts);
    g_free(doc);
  }
}

static void test_streaming_utf8(void)
{
  DistillMarkdownView *view = new_view();
  /* "é" and "✓" split between appends: shown once complete */
  distill_markdown_view_append(view, "caf\xc3", -1);
  g_assert_cmpstr(distill_markdown_view_get_text(view), ==, "caf");
  distill_markdown_view_append(view, "\xa9 \xe2\x9c", -1);
  g_assert_cmpstr(distill_markdown_view_get_text(view), ==, "café ");
  distill_markdown_view_append(view, "\x93", -1);
  g_assert_cmpstr(distill_markdown_view_get_text(view), ==, "café ✓");
  g_assert_cmpstr(label_text(gtk_widget_get_first_child(GTK_WIDGET(view))), ==, "café ✓");

  /* invalid bytes: one U+FFFD each, the same whole or in pieces */
  const char bad[] = "a\xff" "b\xc3(\xe2\x82" "c\xed\xa0\x80" "d\xf0\x9f\x98";
  distill_markdown_view_set_text(view, bad);
  char *whole = g_strdup(distill_markdown_view_get_text(view));
  g_assert_true(g_utf8_validate(whole, -1, NULL));
  distill_markdown_view_set_text(view, NULL);
  for (gsize i = 0; i < strlen(bad); i++) distill_markdown_view_append(view, bad + i, 1);
  g_assert_cmpstr(distill_markdown_view_get_text(view), ==, whole);
  char *expected = g_utf8_make_valid("a\xff" "b\xc3(\xe2\x82" "c\xed\xa0\x80" "d", -1);
  g_assert_cmpstr(whole, ==, expected); /* the cut-off emoji at the end waits for its last byte */
  g_free(expected);
  g_free(whole);

  /* a NUL inside is replaced, not the end of the text */
  distill_markdown_view_set_text(view, NULL);
  distill_markdown_view_append(view, "x\0y", 3);
  g_assert_cmpstr(distill_markdown_view_get_text(view), ==, "x\xef\xbf\xbdy");
  g_object_unref(view);
}

static void on_notify(GObject *object, GParamSpec *pspec, guint *count)
{
  (*count)++;
}

static void test_text_property(void)
{
  DistillMarkdownView *view = new_view();
  guint count = 0;
  g_signal_connect(view, "notify::text", G_CALLBACK(on_notify), &count);
  g_object_set(view, "text", "# Hi", NULL);
  g_assert_cmpuint(count, ==, 1);
  distill_markdown_view_append(view, " there", -1);
  g_assert_cmpuint(count, ==, 2);
  distill_markdown_view_append(view, "", -1);
  g_assert_cmpuint(count, ==, 2);
  char *text = NULL;
  g_object_get(view, "text", &text, NULL);
  g_assert_cmpstr(text, ==, "# Hi there");
  g_free(text);
  g_assert_true(gtk_widget_has_css_class(gtk_widget_get_first_child(GTK_WIDGET(view)), "title-1"));
  distill_markdown_view_set_text(view, NULL);
  g_assert_cmpuint(count, ==, 3);
  g_assert_null(gtk_widget_get_first_child(GTK_WIDGET(view)));
  g_object_unref(view);
}

/* ---- hostile input ---------------------------------------------------------------------------- */

static void test_markup_breaking(void)
{
  DistillMarkdownView *view = new_view();
  GtkWidget *w = GTK_WIDGET(view);

  distill_markdown_view_set_text(view, "<b>bold?</b> & <i>this</i> <span foreground='red'>x</span>");
  g_assert_cmpstr(label_text(child_at(w, 0)), ==, "<b>bold?</b> & <i>this</i> <span foreground='red'>x</span>");

  distill_markdown_view_set_text(view, "**unbalanced *emphasis _and `code");
  g_assert_cmpstr(label_text(child_at(w, 0)), ==, "**unbalanced *emphasis _and `code");
  const char *markup;

  /* "~" means "about": only ~~two~~ strike through */
  distill_markdown_view_set_text(view, "Range: ~3-5 km~ or ~10%, not ~~this~~; see https://x.org/~user");
  g_assert_cmpstr(label_text(child_at(w, 0)), ==, "Range: ~3-5 km~ or ~10%, not this; see https://x.org/~user");
  markup = gtk_label_get_label(GTK_LABEL(child_at(w, 0)));
  g_assert_nonnull(strstr(markup, "not <s>this</s>;"));
  g_assert_nonnull(strstr(markup, "<a href=\"https://x.org/~user\">"));

  /* only http(s)/mailto/ftp become links */
  distill_markdown_view_set_text(view, "[click](javascript:alert(1)) [file](file:///etc/passwd) [ok](https://a.example/?q=1&r=\"2\")");
  markup = gtk_label_get_label(GTK_LABEL(child_at(w, 0)));
  g_assert_null(strstr(markup, "javascript"));
  g_assert_null(strstr(markup, "file://"));
  g_assert_nonnull(strstr(markup, "<a href=\"https://a.example/?q=1&amp;r=&quot;2&quot;\">ok</a>"));

  /* entities decode to text, which is then escaped */
  distill_markdown_view_set_text(view, "&amp; &lt;b&gt; &#0; &#xD800; &#x1F600; &bogus; &copy;");
  g_assert_cmpstr(label_text(child_at(w, 0)), ==, "& <b> \xef\xbf\xbd \xef\xbf\xbd 😀 &bogus; ©");

  const char *nasty[] = {
    "\xff\xfe\xfd invalid \xc3 bytes \xe2\x82",
    "```\nunclosed fence <b> & </i>",
    "| a | b |\n|---|---|\n| <x> | & |\n| only one",
    "> > > > > > > > > > > > > > > > > > > > > > > > > > > > > > > > > > > > > > > deep",
    "$$ unclosed display math <b>",
    "\\boxed{ unclosed <i> &",
    "\\[ \\boxed{1} \\] \\] \\[",
    "[a](<b>) [b]: <c> ![img](x.png \"t<\")",
    "- [x] done <b>\n- [ ] open &\n  - [x] nested",
    "# <h1>\n###### &\n####### seven",
    "\xee\x80\x80" "0" "\xee\x80\x81 fake placeholder \xee\x80\x80\xee\x80\x90\xee\x80\x81",
    "*a **b ***c ~~d ~e __f ___g",
    "<think>\nreasoning\n</think>\nanswer",
    "1. a\n\n\n\n2. b\n   ```py\n   x\n   ```\n3. c",
    "```pyth", "``", "~~~", "$", "$$", "\\", "\\(", "|", "|-|", "- ", "1.", ">", "#", "***", "`",
  };
  for (gsize i = 0; i < G_N_ELEMENTS(nasty); i++) {
    distill_markdown_view_set_text(view, nasty[i]);
    g_assert_true(g_utf8_validate(distill_markdown_view_get_text(view), -1, NULL));
    DistillMarkdownView *streamed = new_view();
    stream(streamed, nasty[i], (guint)i + 1, 3);
    char *a = tree(view), *b = tree(streamed);
    g_assert_cmpstr(a, ==, b);
    g_free(a);
    g_free(b);
    g_object_unref(streamed);
  }

  /* deep nesting and long runs stay bounded */
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 3000; i++) g_string_append(deep, "> - ");
  g_string_append(deep, "bottom\n\n");
  for (int i = 0; i < 20000; i++) g_string_append_c(deep, '[');
  for (int i = 0; i < 5000; i++) g_string_append(deep, "$\\frac{");
  distill_markdown_view_set_text(view, deep->str);
  g_assert_nonnull(gtk_widget_get_first_child(w));
  g_string_free(deep, TRUE);
  g_object_unref(view);
}

/* Random soup of Markdown, LaTeX and bad bytes: never a warning (they are
 * fatal), valid text, and streamed in pieces always the same as whole. */
static void test_fuzz(void)
{
  static const char *const tokens[] = {
    "\n", "\n\n", " ", "    ", "\t", "#", "## ", "```", "```py\n", "~~~", "`", "$", "$$", "\\[", "\\]",
    "\\(", "\\)", "\\boxed{", "{", "}", "\\frac", "^", "_", "*", "**", "~", "~~", "|", "|---|", "| a |",
    "- ", "1. ", "2) ", "> ", "[", "]", "(", ")", "![", "http://x.y/", "www.a.b", "a@b.c", "&amp;", "&#",
    ";", "<b>", "</i>", "\\", "\\text{", "x", "word ", "é", "\xe2\x9c", "\x93", "\xff",
    "\xee\x80\x80", "\xee\x80\x90", "\xee\x80\x81", "- [x] ", "---\n", "===\n", "\\left(", "&",
  };
  GRand *rand = g_rand_new_with_seed(7);
  DistillMarkdownView *whole = new_view();
  for (int round = 0; round < 400; round++) {
    GString *doc = g_string_new(NULL);
    int n = g_rand_int_range(rand, 1, 50);
    for (int k = 0; k < n; k++) g_string_append(doc, tokens[g_rand_int_range(rand, 0, G_N_ELEMENTS(tokens))]);
    distill_markdown_view_set_text(whole, doc->str);
    g_assert_true(g_utf8_validate(distill_markdown_view_get_text(whole), -1, NULL));
    DistillMarkdownView *streamed = new_view();
    stream(streamed, doc->str, (guint)round, 5);
    char *a = tree(whole), *b = tree(streamed);
    if (strcmp(a, b) != 0) g_test_message("round %d: [%s]", round, doc->str);
    g_assert_cmpstr(a, ==, b);
    g_free(a);
    g_free(b);
    g_object_unref(streamed);
    g_string_free(doc, TRUE);
  }
  g_object_unref(whole);
  g_rand_free(rand);
}

/* ---- on screen ------------------------------------------------------------------------------------ */

static void count_paint(GdkFrameClock *clock, guint *n)
{
  (*n)++;
}

static void wait_painted(GtkWidget *widget)
{
  guint n = 0;
  GdkFrameClock *clock = gtk_widget_get_frame_clock(widget);
  gulong id = g_signal_connect(clock, "after-paint", G_CALLBACK(count_paint), &n);
  gtk_widget_queue_draw(widget);
  gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
  while (n == 0 && g_get_monotonic_time() < end) g_main_context_iteration(NULL, TRUE);
  g_assert_cmpuint(n, >, 0);
  g_signal_handler_disconnect(clock, id);
}

/* Saves widget's picture, cut below the bottom of content (plus a margin):
 * a toplevel on X11 is at least as tall as its content at its narrowest. */
static void save_png(GtkWidget *widget, GtkWidget *content, const char *path)
{
  int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  int keep = height;
  graphene_rect_t bounds;
  if (gtk_widget_compute_bounds(gtk_widget_get_last_child(content), widget, &bounds))
    keep = MIN(height, (int)(bounds.origin.y + bounds.size.height) + 18);
  GdkPaintable *paintable = gtk_widget_paintable_new(widget);
  GtkSnapshot *snapshot = gtk_snapshot_new();
  gdk_paintable_snapshot(paintable, snapshot, width, height); /* full size: a smaller one would scale */
  height = keep;
  GskRenderNode *node = gtk_snapshot_free_to_node(snapshot);
  g_assert_nonnull(node);
  GskRenderer *renderer = gtk_native_get_renderer(gtk_widget_get_native(widget));
  GdkTexture *texture = gsk_renderer_render_texture(renderer, node, &GRAPHENE_RECT_INIT(0, 0, width, height));
  g_assert_true(gdk_texture_save_to_png(texture, path));
  g_object_unref(texture);
  gsk_render_node_unref(node);
  g_object_unref(paintable);
}

static void unselect(GtkWidget *widget)
{
  if (GTK_IS_LABEL(widget) && gtk_label_get_selectable(GTK_LABEL(widget)))
    gtk_label_select_region(GTK_LABEL(widget), 0, 0);
  for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) unselect(c);
}

static void on_css_error(GtkCssProvider *provider, GtkCssSection *section, GError *error, gpointer data)
{
  char *where = gtk_css_section_to_string(section);
  g_error("style.css: %s: %s", where, error->message);
}

static void test_screenshots(void)
{
  const char *shots = g_getenv("DISTILL_SHOTS_DIR");
  AdwStyleManager *style = adw_style_manager_get_default();
  if (shots) g_mkdir_with_parents(shots, 0755);

  for (int dark = 0; dark <= 1; dark++) {
    adw_style_manager_set_color_scheme(style, dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_FORCE_LIGHT);
    for (gsize f = 0; f < G_N_ELEMENTS(fixtures); f++) {
      GtkWidget *window = gtk_window_new();
      gtk_window_set_decorated(GTK_WINDOW(window), FALSE);
      GtkWidget *view = distill_markdown_view_new();
      gtk_widget_set_margin_start(view, 18);
      gtk_widget_set_margin_end(view, 18);
      gtk_widget_set_margin_top(view, 18);
      gtk_widget_set_margin_bottom(view, 18);
      char *doc = load_fixture(fixtures[f]);
      distill_markdown_view_set_text(DISTILL_MARKDOWN_VIEW(view), doc);
      g_free(doc);
      gtk_window_set_child(GTK_WINDOW(window), view);
      gtk_window_set_default_size(GTK_WINDOW(window), 680, 400);
      gtk_window_present(GTK_WINDOW(window));
      wait_painted(window);
      /* Text views find their height once their lines are laid out (in
       * idle time): grow the window to the content until it stops growing. */
      for (int round = 0, height = 0; round < 20; round++) {
        int min, nat;
        iterate();
        gtk_widget_measure(window, GTK_ORIENTATION_VERTICAL, 680, &min, &nat, NULL, NULL);
        if (nat == height) break;
        height = nat;
        gtk_window_set_default_size(GTK_WINDOW(window), 680, MIN(nat, 3000));
        wait_painted(window);
      }
      /* the first label got the focus and with it a selection: not for the picture */
      gtk_window_set_focus(GTK_WINDOW(window), NULL);
      unselect(view);
      wait_painted(window);

      /* code follows the style: Adwaita or Adwaita-dark */
      GtkWidget *source = find_type(view, GTK_SOURCE_TYPE_VIEW);
      if (source) {
        GtkSourceBuffer *buffer = GTK_SOURCE_BUFFER(gtk_text_view_get_buffer(GTK_TEXT_VIEW(source)));
        g_assert_cmpstr(gtk_source_style_scheme_get_id(gtk_source_buffer_get_style_scheme(buffer)), ==,
                        dark ? "Adwaita-dark" : "Adwaita");
      }
      /* nothing is cut: every block got its natural height */
      for (GtkWidget *c = gtk_widget_get_first_child(view); c; c = gtk_widget_get_next_sibling(c))
        g_assert_cmpint(gtk_widget_get_height(c), >, 0);

      if (shots) {
        char *base = g_strndup(fixtures[f], strlen(fixtures[f]) - 3);
        char *name = g_strdup_printf("markdown-%s-%s.png", base, dark ? "dark" : "light");
        char *path = g_build_filename(shots, name, NULL);
        save_png(window, view, path);
        g_test_message("saved %s", path);
        g_free(path);
        g_free(name);
        g_free(base);
      }
      gtk_window_destroy(GTK_WINDOW(window));
      iterate();
    }
  }
  adw_style_manager_set_color_scheme(style, ADW_COLOR_SCHEME_DEFAULT);
}

int main(int argc, char **argv)
{
  gtk_test_init(&argc, &argv, NULL);
  adw_init();

  /* The app loads style.css through AdwApplication; here we do it by hand,
   * and any error in it fails the test. */
  distill_register_resource();
  GtkCssProvider *css = gtk_css_provider_new();
  g_signal_connect(css, "parsing-error", G_CALLBACK(on_css_error), NULL);
  gtk_css_provider_load_from_resource(css, "/io/github/distillapp/Distill/style.css");
  gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                             GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  g_test_add_func("/markdown/math/convert", test_math_convert);
  g_test_add_func("/markdown/math/robust", test_math_robust);
  g_test_add_func("/markdown/math/protected", test_math_protected);
  g_test_add_func("/markdown/fixture/code", test_fixture_code);
  g_test_add_func("/markdown/fixture/table", test_fixture_table);
  g_test_add_func("/markdown/fixture/nested-list", test_fixture_nested_list);
  g_test_add_func("/markdown/fixture/boxed", test_fixture_boxed);
  g_test_add_func("/markdown/fixture/headings-links", test_fixture_headings_links);
  g_test_add_func("/markdown/streaming/same-tree", test_streaming_same_tree);
  g_test_add_func("/markdown/streaming/keeps-widgets", test_streaming_keeps_widgets);
  g_test_add_func("/markdown/streaming/cuts-stable", test_cuts_stable);
  g_test_add_func("/markdown/streaming/utf8", test_streaming_utf8);
  g_test_add_func("/markdown/text-property", test_text_property);
  g_test_add_func("/markdown/markup-breaking", test_markup_breaking);
  g_test_add_func("/markdown/fuzz", test_fuzz);
  g_test_add_func("/markdown/screenshots", test_screenshots);
  int rc = g_test_run();
  g_object_unref(css);
  return rc;
}
