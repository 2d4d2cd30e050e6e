/* distill-markdown.c — DistillMarkdownView: block nodes → GTK widgets, and
 * streaming (see the header).
 *
 * The view keeps the text it was given and the offset up to which the text
 * is final (text before a segment cut, distill-markdown-parse.h). The
 * children rendering that part are never touched again. On each change the
 * rest is parsed and reconciled with the remaining children: a child whose
 * node is unchanged stays as is, one of the same kind is updated in place
 * (new label markup, code appended to the buffer), anything else is
 * rebuilt. Every block widget keeps the node it shows (object data). */
#include "config.h"

#include <string.h>

#include <adwaita.h>
#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>

#include "distill-markdown-parse.h"
#include "distill-markdown.h"

#define NODE_KEY "distill-md-node"
#define CODE_KEY "distill-md-code"

struct _DistillMarkdownView {
  GtkBox parent_instance;

  GString *text;        /* valid UTF-8 received so far */
  GString *held;        /* the start of a character whose other bytes are still to come */
  gsize committed_end;  /* text[0, committed_end) is final … */
  guint n_committed;    /* … and shown by this many first children */
};

G_DEFINE_FINAL_TYPE(DistillMarkdownView, distill_markdown_view, GTK_TYPE_BOX)

enum {
  PROP_0,
  PROP_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GtkWidget *build_block(DistillMdNode *node);
static void reconcile(GtkWidget *box, guint first, GPtrArray *nodes);

/* ---- helpers --------------------------------------------------------------- */

static void set_node(GtkWidget *widget, DistillMdNode *node)
{
  g_object_set_data_full(G_OBJECT(widget), NODE_KEY, distill_md_node_ref(node),
                         (GDestroyNotify)distill_md_node_unref);
}

static DistillMdNode *get_node(GtkWidget *widget)
{
  return g_object_get_data(G_OBJECT(widget), NODE_KEY);
}

static gboolean on_activate_link(GtkLabel *label, const char *uri, gpointer user_data)
{
  /* The parser only emits http(s), ftp and mailto links; check again. */
  if (g_str_has_prefix(uri, "https://") || g_str_has_prefix(uri, "http://") ||
      g_str_has_prefix(uri, "mailto:") || g_str_has_prefix(uri, "ftp://")) {
    GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(label));
    gtk_show_uri(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, uri, GDK_CURRENT_TIME);
  }
  return TRUE; /* handled: GTK must not try any other scheme */
}

static void set_label_markup(GtkLabel *label, const char *markup)
{
  if (g_strcmp0(gtk_label_get_label(label), markup) != 0) gtk_label_set_markup(label, markup);
}

static GtkWidget *markup_label(const char *markup, GtkAccessibleRole role, const char *css_class)
{
  GtkWidget *label = g_object_new(GTK_TYPE_LABEL,
                                  "accessible-role", role,
                                  "wrap", TRUE,
                                  "wrap-mode", PANGO_WRAP_WORD_CHAR,
                                  "xalign", 0.0f,
                                  "selectable", TRUE,
                                  NULL);
  gtk_label_set_markup(GTK_LABEL(label), markup);
  gtk_widget_add_css_class(label, css_class);
  g_signal_connect(label, "activate-link", G_CALLBACK(on_activate_link), NULL);
  return label;
}

/* ---- code blocks ------------------------------------------------------------- */

typedef struct {
  GtkSourceBuffer *buffer;   /* owned by the view */
  AdwButtonContent *copy;    /* the Copy button's content (a reference: the timeout may outlive the button) */
  guint reset_id;            /* "Copied" goes back to "Copy" */
} CodeBlock;

static void code_block_free(CodeBlock *code)
{
  g_clear_handle_id(&code->reset_id, g_source_remove);
  g_clear_object(&code->copy);
  g_free(code);
}

static GtkSourceLanguage *language_for(const char *lang)
{
  static const struct {
    const char *alias;
    const char *id;
  } aliases[] = {
    {"py", "python3"}, {"python", "python3"}, {"py3", "python3"}, {"python2", "python"},
    {"javascript", "js"}, {"node", "js"}, {"mjs", "js"}, {"ts", "typescript"},
    {"tsx", "typescript-jsx"}, {"bash", "sh"}, {"shell", "sh"}, {"zsh", "sh"}, {"console", "sh"},
    {"shell-session", "sh"}, {"c++", "cpp"}, {"cxx", "cpp"}, {"cc", "cpp"}, {"hpp", "cpp"},
    {"h", "c"}, {"cs", "c-sharp"}, {"csharp", "c-sharp"}, {"c#", "c-sharp"}, {"rs", "rust"},
    {"golang", "go"}, {"yml", "yaml"}, {"md", "markdown"}, {"tex", "latex"},
    {"dockerfile", "docker"}, {"make", "makefile"}, {"rb", "ruby"}, {"kt", "kotlin"},
    {"ps1", "powershell"}, {"pwsh", "powershell"}, {"objective-c", "objc"}, {"jsonc", "json"},
    {"json5", "json"}, {"html5", "html"}, {"vue", "html"}, {"svg", "xml"},
  };
  if (!lang || !*lang) return NULL;
  GtkSourceLanguageManager *manager = gtk_source_language_manager_get_default();
  char *id = g_ascii_strdown(lang, -1);
  for (gsize i = 0; i < G_N_ELEMENTS(aliases); i++) {
    if (strcmp(id, aliases[i].alias) == 0) {
      g_free(id);
      id = g_strdup(aliases[i].id);
      break;
    }
  }
  GtkSourceLanguage *language = gtk_source_language_manager_get_language(manager, id);
  if (!language) {
    /* "lua", "swift", "scala"…: let the file-name globs decide */
    gboolean word = TRUE;
    for (const char *p = id; *p; p++)
      if (!g_ascii_isalnum(*p) && *p != '+' && *p != '-' && *p != '_') word = FALSE;
    if (word && strlen(id) <= 16) {
      char *name = g_strconcat("code.", id, NULL);
      language = gtk_source_language_manager_guess_language(manager, name, NULL);
      g_free(name);
    }
  }
  g_free(id);
  return language;
}

/* The Adwaita scheme that matches the light or dark style. */
static void update_scheme(GtkSourceBuffer *buffer)
{
  gboolean dark = adw_style_manager_get_dark(adw_style_manager_get_default());
  GtkSourceStyleSchemeManager *schemes = gtk_source_style_scheme_manager_get_default();
  GtkSourceStyleScheme *scheme =
    gtk_source_style_scheme_manager_get_scheme(schemes, dark ? "Adwaita-dark" : "Adwaita");
  if (!scheme) scheme = gtk_source_style_scheme_manager_get_scheme(schemes, dark ? "classic-dark" : "classic");
  gtk_source_buffer_set_style_scheme(buffer, scheme);
}

static gboolean reset_copy_button(gpointer data)
{
  CodeBlock *code = data;
  code->reset_id = 0;
  adw_button_content_set_label(code->copy, _("Copy"));
  adw_button_content_set_icon_name(code->copy, "edit-copy-symbolic");
  return G_SOURCE_REMOVE;
}

static void on_copy_clicked(GtkButton *button, CodeBlock *code)
{
  GtkTextIter start, end;
  gtk_text_buffer_get_bounds(GTK_TEXT_BUFFER(code->buffer), &start, &end);
  char *text = gtk_text_buffer_get_text(GTK_TEXT_BUFFER(code->buffer), &start, &end, FALSE);
  gdk_clipboard_set_text(gtk_widget_get_clipboard(GTK_WIDGET(button)), text);
  g_free(text);
  adw_button_content_set_label(code->copy, _("Copied"));
  adw_button_content_set_icon_name(code->copy, "object-select-symbolic");
  g_clear_handle_id(&code->reset_id, g_source_remove);
  code->reset_id = g_timeout_add_seconds(2, reset_copy_button, code);
}

static GtkWidget *build_code(DistillMdNode *node)
{
  CodeBlock *code = g_new0(CodeBlock, 1);
  GtkSourceLanguage *language = language_for(node->lang);
  const char *name = language ? gtk_source_language_get_name(language)
                              : (node->lang && *node->lang ? node->lang : _("Code"));

  GtkWidget *block = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_add_css_class(block, "md-code-block");
  gtk_widget_set_overflow(block, GTK_OVERFLOW_HIDDEN); /* the code's background has round corners too */
  g_object_set_data_full(G_OBJECT(block), CODE_KEY, code, (GDestroyNotify)code_block_free);

  GtkWidget *header = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_add_css_class(header, "md-code-header");
  GtkWidget *lang_label = gtk_label_new(name);
  gtk_label_set_xalign(GTK_LABEL(lang_label), 0.0f);
  gtk_label_set_ellipsize(GTK_LABEL(lang_label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand(lang_label, TRUE);
  gtk_widget_add_css_class(lang_label, "md-code-lang");
  gtk_box_append(GTK_BOX(header), lang_label);

  GtkWidget *copy = gtk_button_new();
  code->copy = g_object_ref_sink(ADW_BUTTON_CONTENT(adw_button_content_new()));
  adw_button_content_set_icon_name(code->copy, "edit-copy-symbolic");
  adw_button_content_set_label(code->copy, _("Copy"));
  gtk_button_set_child(GTK_BUTTON(copy), GTK_WIDGET(code->copy));
  gtk_widget_add_css_class(copy, "flat");
  gtk_widget_add_css_class(copy, "md-code-copy");
  gtk_widget_set_tooltip_text(copy, _("Copy code to the clipboard"));
  gtk_accessible_update_property(GTK_ACCESSIBLE(copy), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Copy code"), -1);
  g_signal_connect(copy, "clicked", G_CALLBACK(on_copy_clicked), code);
  gtk_box_append(GTK_BOX(header), copy);
  gtk_box_append(GTK_BOX(block), header);

  code->buffer = gtk_source_buffer_new(NULL);
  gtk_source_buffer_set_language(code->buffer, language);
  gtk_source_buffer_set_highlight_syntax(code->buffer, TRUE);
  gtk_source_buffer_set_highlight_matching_brackets(code->buffer, FALSE);
  gtk_text_buffer_set_text(GTK_TEXT_BUFFER(code->buffer), node->text, -1);
  update_scheme(code->buffer);
  g_signal_connect_object(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(update_scheme),
                          code->buffer, G_CONNECT_SWAPPED);

  GtkWidget *view = gtk_source_view_new_with_buffer(code->buffer);
  g_object_unref(code->buffer);
  gtk_text_view_set_editable(GTK_TEXT_VIEW(view), FALSE);
  gtk_text_view_set_cursor_visible(GTK_TEXT_VIEW(view), FALSE);
  gtk_text_view_set_monospace(GTK_TEXT_VIEW(view), TRUE);
  gtk_text_view_set_left_margin(GTK_TEXT_VIEW(view), 12);
  gtk_text_view_set_right_margin(GTK_TEXT_VIEW(view), 12);
  gtk_text_view_set_top_margin(GTK_TEXT_VIEW(view), 8);
  gtk_text_view_set_bottom_margin(GTK_TEXT_VIEW(view), 10);
  gtk_source_view_set_tab_width(GTK_SOURCE_VIEW(view), 4);
  gtk_widget_add_css_class(view, "md-code-view");
  /* Translators: what a screen reader says for a code block; %s is its language, e.g. "Python" */
  char *a11y = g_strdup_printf(_("Code block, %s"), name);
  gtk_accessible_update_property(GTK_ACCESSIBLE(view), GTK_ACCESSIBLE_PROPERTY_LABEL, a11y, -1);
  g_free(a11y);

  /* Long lines scroll sideways; the height is always the code's own. */
  GtkWidget *scroller = gtk_scrolled_window_new();
  gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroller), GTK_POLICY_AUTOMATIC, GTK_POLICY_NEVER);
  gtk_scrolled_window_set_propagate_natural_height(GTK_SCROLLED_WINDOW(scroller), TRUE);
  gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroller), view);
  gtk_box_append(GTK_BOX(block), scroller);
  return block;
}

static gboolean update_code(GtkWidget *block, DistillMdNode *old, DistillMdNode *node)
{
  CodeBlock *code = g_object_get_data(G_OBJECT(block), CODE_KEY);
  if (!code || g_strcmp0(old->lang, node->lang) != 0) return FALSE;
  GtkTextBuffer *buffer = GTK_TEXT_BUFFER(code->buffer);
  if (g_str_has_prefix(node->text, old->text)) {
    /* streaming: only the new code goes in, highlighting goes on from there */
    GtkTextIter end;
    gtk_text_buffer_get_end_iter(buffer, &end);
    gtk_text_buffer_insert(buffer, &end, node->text + strlen(old->text), -1);
  } else {
    gtk_text_buffer_set_text(buffer, node->text, -1);
  }
  return TRUE;
}

/* ---- tables ------------------------------------------------------------------ */

static float align_x(DistillMdAlign align)
{
  return align == DISTILL_MD_ALIGN_CENTER ? 0.5f : align == DISTILL_MD_ALIGN_RIGHT ? 1.0f : 0.0f;
}

static void attach_row(GtkGrid *grid, DistillMdNode *row, int r)
{
  for (guint c = 0; c < row->children->len; c++) {
    DistillMdNode *cell = row->children->pdata[c];
    GtkWidget *label = markup_label(cell->text, GTK_ACCESSIBLE_ROLE_LABEL, "md-table-cell");
    gtk_label_set_xalign(GTK_LABEL(label), align_x(cell->align));
    gtk_label_set_justify(GTK_LABEL(label), cell->align == DISTILL_MD_ALIGN_CENTER ? GTK_JUSTIFY_CENTER
                                            : cell->align == DISTILL_MD_ALIGN_RIGHT ? GTK_JUSTIFY_RIGHT
                                                                                    : GTK_JUSTIFY_LEFT);
    gtk_widget_set_valign(label, GTK_ALIGN_FILL);
    gtk_label_set_yalign(GTK_LABEL(label), 0.0f);
    if (cell->header) gtk_widget_add_css_class(label, "md-table-header");
    else if (r % 2 == 0) gtk_widget_add_css_class(label, "md-table-alt");
    gtk_grid_attach(grid, label, (int)c, r, 1, 1);
  }
}

static GtkWidget *build_table(DistillMdNode *node)
{
  GtkWidget *grid = gtk_grid_new();
  gtk_widget_add_css_class(grid, "md-table");
  gtk_widget_set_halign(grid, GTK_ALIGN_START);
  gtk_widget_set_overflow(grid, GTK_OVERFLOW_HIDDEN); /* the rounded corners clip the cells */
  for (guint r = 0; r < node->children->len; r++) attach_row(GTK_GRID(grid), node->children->pdata[r], (int)r);
  return grid;
}

static gboolean same_row_shape(DistillMdNode *a, DistillMdNode *b)
{
  if (a->children->len != b->children->len) return FALSE;
  for (guint c = 0; c < a->children->len; c++) {
    DistillMdNode *x = a->children->pdata[c], *y = b->children->pdata[c];
    if (x->align != y->align || x->header != y->header) return FALSE;
  }
  return TRUE;
}

/* A table growing row by row keeps its grid. */
static gboolean update_table(GtkWidget *grid, DistillMdNode *old, DistillMdNode *node)
{
  if (node->children->len < old->children->len) return FALSE;
  for (guint r = 0; r < old->children->len; r++)
    if (!same_row_shape(old->children->pdata[r], node->children->pdata[r])) return FALSE;
  for (guint r = 0; r < old->children->len; r++) {
    DistillMdNode *row = node->children->pdata[r];
    for (guint c = 0; c < row->children->len; c++) {
      GtkWidget *label = gtk_grid_get_child_at(GTK_GRID(grid), (int)c, (int)r);
      if (!GTK_IS_LABEL(label)) return FALSE;
      set_label_markup(GTK_LABEL(label), ((DistillMdNode *)row->children->pdata[c])->text);
    }
  }
  for (guint r = old->children->len; r < node->children->len; r++)
    attach_row(GTK_GRID(grid), node->children->pdata[r], (int)r);
  return TRUE;
}

/* ---- blocks ----------------------------------------------------------------------- */

static GtkWidget *container_box(int spacing, const char *css_class, GPtrArray *children)
{
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, spacing);
  gtk_widget_add_css_class(box, css_class);
  if (children) reconcile(box, 0, children);
  return box;
}

static GtkWidget *build_item(DistillMdNode *node)
{
  GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
  gtk_widget_add_css_class(row, "md-list-item");
  GtkWidget *marker;
  if (node->number >= 0) {
    /* A task: a check box that shows the state but cannot be changed. */
    marker = gtk_check_button_new();
    gtk_check_button_set_active(GTK_CHECK_BUTTON(marker), node->number > 0);
    gtk_widget_set_can_target(marker, FALSE);
    gtk_widget_set_focusable(marker, FALSE);
    gtk_widget_add_css_class(marker, "md-task");
  } else {
    marker = gtk_label_new(node->text);
    gboolean number = g_ascii_isdigit(node->text[0]);
    gtk_label_set_width_chars(GTK_LABEL(marker), number ? 3 : 1);
    gtk_label_set_xalign(GTK_LABEL(marker), number ? 1.0f : 0.5f);
    gtk_widget_add_css_class(marker, "md-list-marker");
  }
  gtk_widget_set_valign(marker, GTK_ALIGN_START);
  gtk_box_append(GTK_BOX(row), marker);
  GtkWidget *content = container_box(6, "md-list-content", node->children);
  gtk_widget_set_hexpand(content, TRUE);
  gtk_box_append(GTK_BOX(row), content);
  return row;
}

static GtkWidget *build_block(DistillMdNode *node)
{
  GtkWidget *widget = NULL;
  switch (node->kind) {
  case DISTILL_MD_PARAGRAPH:
    widget = markup_label(node->text, GTK_ACCESSIBLE_ROLE_LABEL, "md-paragraph");
    break;
  case DISTILL_MD_HEADING: {
    static const char *const classes[] = {"title-1", "title-2", "title-3", "title-4", "heading", "heading"};
    widget = markup_label(node->text, GTK_ACCESSIBLE_ROLE_HEADING, "md-heading");
    gtk_widget_add_css_class(widget, classes[CLAMP(node->level, 1, 6) - 1]);
    gtk_accessible_update_property(GTK_ACCESSIBLE(widget), GTK_ACCESSIBLE_PROPERTY_LEVEL, node->level, -1);
    break;
  }
  case DISTILL_MD_CODE:
    widget = build_code(node);
    break;
  case DISTILL_MD_QUOTE:
    widget = container_box(8, "md-blockquote", node->children);
    break;
  case DISTILL_MD_LIST:
    widget = container_box(4, "md-list", node->children);
    if (node->ordered) gtk_widget_add_css_class(widget, "md-list-ordered");
    break;
  case DISTILL_MD_ITEM:
    widget = build_item(node);
    break;
  case DISTILL_MD_RULE:
    widget = gtk_separator_new(GTK_ORIENTATION_HORIZONTAL);
    gtk_widget_add_css_class(widget, "md-rule");
    break;
  case DISTILL_MD_TABLE:
    widget = build_table(node);
    break;
  case DISTILL_MD_MATH:
    widget = markup_label(node->text, GTK_ACCESSIBLE_ROLE_LABEL, "md-math-display");
    gtk_label_set_xalign(GTK_LABEL(widget), 0.5f);
    gtk_label_set_justify(GTK_LABEL(widget), GTK_JUSTIFY_CENTER);
    break;
  case DISTILL_MD_BOXED: {
    widget = g_object_new(GTK_TYPE_BOX, "orientation", GTK_ORIENTATION_VERTICAL,
                          "accessible-role", GTK_ACCESSIBLE_ROLE_GROUP, "halign", GTK_ALIGN_CENTER, NULL);
    gtk_widget_add_css_class(widget, "boxed-answer");
    /* Translators: what a screen reader says for the box around a \boxed{} final answer */
    gtk_accessible_update_property(GTK_ACCESSIBLE(widget), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Answer"), -1);
    GtkWidget *label = markup_label(node->text, GTK_ACCESSIBLE_ROLE_LABEL, "boxed-answer-text");
    gtk_label_set_xalign(GTK_LABEL(label), 0.5f);
    gtk_label_set_justify(GTK_LABEL(label), GTK_JUSTIFY_CENTER);
    gtk_box_append(GTK_BOX(widget), label);
    break;
  }
  case DISTILL_MD_ROW:
  case DISTILL_MD_CELL:
  default:
    /* never a block of its own; a parser bug must not leave a hole */
    widget = markup_label(node->text ? node->text : "", GTK_ACCESSIBLE_ROLE_LABEL, "md-paragraph");
    break;
  }
  set_node(widget, node);
  return widget;
}

/* Shows node in widget (which shows old) without rebuilding it, if the
 * kinds allow; FALSE: the caller builds a new widget. */
static gboolean update_block(GtkWidget *widget, DistillMdNode *old, DistillMdNode *node)
{
  if (old->kind != node->kind) return FALSE;
  switch (node->kind) {
  case DISTILL_MD_PARAGRAPH:
  case DISTILL_MD_MATH:
    set_label_markup(GTK_LABEL(widget), node->text);
    return TRUE;
  case DISTILL_MD_HEADING:
    if (old->level != node->level) return FALSE;
    set_label_markup(GTK_LABEL(widget), node->text);
    return TRUE;
  case DISTILL_MD_BOXED:
    set_label_markup(GTK_LABEL(gtk_widget_get_first_child(widget)), node->text);
    return TRUE;
  case DISTILL_MD_CODE:
    return update_code(widget, old, node);
  case DISTILL_MD_RULE:
    return TRUE;
  case DISTILL_MD_QUOTE:
    reconcile(widget, 0, node->children);
    return TRUE;
  case DISTILL_MD_LIST:
    if (old->ordered != node->ordered || old->number != node->number || old->level != node->level ||
        old->align != node->align)
      return FALSE;
    reconcile(widget, 0, node->children);
    return TRUE;
  case DISTILL_MD_ITEM:
    if (old->number != node->number || g_strcmp0(old->text, node->text) != 0) return FALSE;
    reconcile(gtk_widget_get_last_child(widget), 0, node->children);
    return TRUE;
  case DISTILL_MD_TABLE:
    return update_table(widget, old, node);
  default:
    return FALSE;
  }
}

/* Makes the children of box from index first on show nodes. */
static void reconcile(GtkWidget *box, guint first, GPtrArray *nodes)
{
  GtkWidget *child = gtk_widget_get_first_child(box);
  for (guint i = 0; i < first && child; i++) child = gtk_widget_get_next_sibling(child);
  GtkWidget *prev = child ? gtk_widget_get_prev_sibling(child) : gtk_widget_get_last_child(box);

  for (guint i = 0; i < nodes->len; i++) {
    DistillMdNode *node = nodes->pdata[i];
    if (!child) {
      GtkWidget *widget = build_block(node);
      gtk_box_insert_child_after(GTK_BOX(box), widget, prev);
      prev = widget;
      continue;
    }
    GtkWidget *next = gtk_widget_get_next_sibling(child);
    DistillMdNode *old = get_node(child);
    if (old && distill_md_node_equal(old, node)) {
      /* unchanged: keep widget and node */
    } else if (old && update_block(child, old, node)) {
      set_node(child, node);
    } else {
      GtkWidget *widget = build_block(node);
      gtk_box_insert_child_after(GTK_BOX(box), widget, prev);
      gtk_box_remove(GTK_BOX(box), child);
      child = widget;
    }
    prev = child;
    child = next;
  }
  while (child) {
    GtkWidget *next = gtk_widget_get_next_sibling(child);
    gtk_box_remove(GTK_BOX(box), child);
    child = next;
  }
}

/* ---- the view ---------------------------------------------------------------------- */

static void render(DistillMarkdownView *self)
{
  const char *text = self->text->str;
  gsize len = self->text->len;
  GPtrArray *nodes = g_ptr_array_new_with_free_func((GDestroyNotify)distill_md_node_unref);
  guint newly_committed = 0;
  gsize cut;

  while ((cut = distill_md_next_cut(text, self->committed_end, len)) != 0) {
    GPtrArray *segment = distill_md_parse(text + self->committed_end, cut - self->committed_end);
    for (guint i = 0; i < segment->len; i++) g_ptr_array_add(nodes, distill_md_node_ref(segment->pdata[i]));
    newly_committed += segment->len;
    g_ptr_array_unref(segment);
    self->committed_end = cut;
  }
  GPtrArray *tail = distill_md_parse(text + self->committed_end, len - self->committed_end);
  for (guint i = 0; i < tail->len; i++) g_ptr_array_add(nodes, distill_md_node_ref(tail->pdata[i]));
  g_ptr_array_unref(tail);

  reconcile(GTK_WIDGET(self), self->n_committed, nodes);
  self->n_committed += newly_committed;
  g_ptr_array_unref(nodes);
}

static void clear(DistillMarkdownView *self)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self)))) gtk_box_remove(GTK_BOX(self), child);
  g_string_truncate(self->text, 0);
  g_string_truncate(self->held, 0);
  self->committed_end = 0;
  self->n_committed = 0;
}

static gboolean add_text(DistillMarkdownView *self, const char *delta, gssize len)
{
  if (!delta) return FALSE;
  gsize n = len < 0 ? strlen(delta) : (gsize)len;
  if (n == 0) return FALSE;
  gsize before = self->text->len;
  g_string_append_len(self->held, delta, (gssize)n);
  gsize used = distill_md_append_valid(self->text, self->held->str, self->held->len);
  g_string_erase(self->held, 0, (gssize)used);
  return self->text->len != before;
}

void distill_markdown_view_set_text(DistillMarkdownView *self, const char *markdown)
{
  g_return_if_fail(DISTILL_IS_MARKDOWN_VIEW(self));
  gboolean had_text = self->text->len > 0;
  clear(self);
  if (add_text(self, markdown, -1)) render(self);
  if (had_text || self->text->len) g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_TEXT]);
}

void distill_markdown_view_append(DistillMarkdownView *self, const char *delta, gssize len)
{
  g_return_if_fail(DISTILL_IS_MARKDOWN_VIEW(self));
  if (add_text(self, delta, len)) {
    render(self);
    g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_TEXT]);
  }
}

const char *distill_markdown_view_get_text(DistillMarkdownView *self)
{
  g_return_val_if_fail(DISTILL_IS_MARKDOWN_VIEW(self), NULL);
  return self->text->str;
}

GtkWidget *distill_markdown_view_new(void)
{
  return g_object_new(DISTILL_TYPE_MARKDOWN_VIEW, NULL);
}

static void distill_markdown_view_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DistillMarkdownView *self = DISTILL_MARKDOWN_VIEW(object);
  switch (prop_id) {
  case PROP_TEXT:
    g_value_set_string(value, self->text->str);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void distill_markdown_view_set_property(GObject *object, guint prop_id, const GValue *value,
                                               GParamSpec *pspec)
{
  DistillMarkdownView *self = DISTILL_MARKDOWN_VIEW(object);
  switch (prop_id) {
  case PROP_TEXT:
    distill_markdown_view_set_text(self, g_value_get_string(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void distill_markdown_view_finalize(GObject *object)
{
  DistillMarkdownView *self = DISTILL_MARKDOWN_VIEW(object);
  g_string_free(self->text, TRUE);
  g_string_free(self->held, TRUE);
  G_OBJECT_CLASS(distill_markdown_view_parent_class)->finalize(object);
}

static void distill_markdown_view_class_init(DistillMarkdownViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->get_property = distill_markdown_view_get_property;
  object_class->set_property = distill_markdown_view_set_property;
  object_class->finalize = distill_markdown_view_finalize;

  properties[PROP_TEXT] = g_param_spec_string("text", NULL, NULL, NULL,
                                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name(GTK_WIDGET_CLASS(klass), "markdownview");
  gtk_source_init(); /* idempotent; GtkSourceView wants it before its first use */
}

static void distill_markdown_view_init(DistillMarkdownView *self)
{
  self->text = g_string_new(NULL);
  self->held = g_string_new(NULL);
  gtk_orientable_set_orientation(GTK_ORIENTABLE(self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing(GTK_BOX(self), 12);
  gtk_widget_add_css_class(GTK_WIDGET(self), "markdown-view");
}
