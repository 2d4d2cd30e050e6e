/* distill-message-row.c — one message of a chat.
 *
 * A question is a bubble on the right. An answer is split as it streams
 * (distill-reasoning.h): the reasoning goes into a collapsed "Thinking…"
 * section (a text view: appending is cheap however long it gets), the answer
 * into a Markdown view. Statistics go under the answer when it is done.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-markdown.h"
#include "distill-message-row.h"
#include "distill-reasoning.h"

struct _DistillMessageRow {
  AdwBin parent_instance;

  DistillMessage *msg;       /* the record shown (content grows while streaming) */
  GString *text;             /* the whole text while streaming */
  DistillReasoningSplit *split;
  gboolean streaming;
  gint64 stream_start_us;    /* when the stream began (begin_stream: the model starts on the answer) */
  gint64 reasoning_end_us;   /* when the answer started */
  double reasoning_s;
  gboolean has_reasoning;
  gboolean can_regenerate;
  gboolean actions_sensitive;
  char *details;             /* more for the statistics' tooltip (where the layers ran) */

  /* template children */
  GtkWidget *bubble;
  GtkLabel *user_label;
  GtkWidget *notice_box;
  GtkLabel *notice_label;
  GtkExpander *reasoning_expander;
  GtkSpinner *reasoning_spinner;
  GtkLabel *reasoning_label;
  GtkTextView *reasoning_view;
  AdwBin *answer_bin;
  GtkLabel *error_label;
  GtkWidget *footer;
  GtkLabel *stats_label;
  GtkWidget *copy_button;
  GtkWidget *edit_button;
  GtkWidget *regenerate_button;

  GtkWidget *answer_view;
};

G_DEFINE_FINAL_TYPE(DistillMessageRow, distill_message_row, ADW_TYPE_BIN)

enum { SIGNAL_EDIT, SIGNAL_REGENERATE, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- the answer view: Markdown ---- */

static GtkWidget *answer_view_new(void)
{
  return distill_markdown_view_new();
}

static void answer_view_set_text(GtkWidget *view, const char *text)
{
  distill_markdown_view_set_text(DISTILL_MARKDOWN_VIEW(view), text);
}

static void answer_view_append(GtkWidget *view, const char *text, gssize len)
{
  distill_markdown_view_append(DISTILL_MARKDOWN_VIEW(view), text, len);
}

static char *answer_view_dup_text(GtkWidget *view)
{
  return g_strdup(distill_markdown_view_get_text(DISTILL_MARKDOWN_VIEW(view)));
}

/* ---- formatting ---- */

/* "250 ms", "1.5 s", "12 s", "2 min 5 s" */
static char *format_seconds(double s)
{
  if (s < 1) return g_strdup_printf(_("%.0f ms"), s * 1000);
  if (s < 10) return g_strdup_printf(_("%.1f s"), s);
  if (s < 60) return g_strdup_printf(_("%.0f s"), s);
  int total = (int)(s + 0.5);
  return g_strdup_printf(_("%d min %d s"), total / 60, total % 60);
}

static char *format_stats(const DistillMessage *m, double reasoning_s)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
  if (m->gen_tokens > 0) {
    g_ptr_array_add(parts, g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%d token", "%d tokens", m->gen_tokens),
                                           m->gen_tokens));
    if (m->tok_s > 0) g_ptr_array_add(parts, g_strdup_printf(_("%.1f tok/s"), m->tok_s));
    if (m->ttft_s > 0) {
      g_autofree char *t = format_seconds(m->ttft_s);
      /* Translators: time to the first token of the answer */
      g_ptr_array_add(parts, g_strdup_printf(_("first token after %s"), t));
    }
    if (reasoning_s > 0) {
      g_autofree char *t = format_seconds(reasoning_s);
      g_ptr_array_add(parts, g_strdup_printf(_("reasoning %s"), t));
    }
  }
  switch (m->state) {
  case DISTILL_MESSAGE_STOPPED: g_ptr_array_add(parts, g_strdup(_("stopped"))); break;
  case DISTILL_MESSAGE_CUT: g_ptr_array_add(parts, g_strdup(_("cut off"))); break;
  case DISTILL_MESSAGE_STREAMING: g_ptr_array_add(parts, g_strdup(_("interrupted"))); break;
  default: break;
  }
  g_ptr_array_add(parts, NULL);
  return g_strjoinv(" · ", (char **)parts->pdata);
}

/* ---- state ---- */

static gboolean is_answer(DistillMessageRow *self)
{
  return g_str_equal(self->msg->role, "assistant");
}

static void update_actions(DistillMessageRow *self)
{
  gboolean user = g_str_equal(self->msg->role, "user");
  gtk_widget_set_visible(self->edit_button, user);
  gtk_widget_set_visible(self->regenerate_button, is_answer(self) && self->can_regenerate && !self->streaming);
  gtk_widget_set_visible(self->copy_button, !self->streaming);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "row.edit", user && self->actions_sensitive);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "row.regenerate",
                                is_answer(self) && self->can_regenerate && self->actions_sensitive && !self->streaming);
}

static void set_reasoning_title(DistillMessageRow *self)
{
  gboolean thinking = self->streaming && self->reasoning_end_us == 0;
  gtk_widget_set_visible(GTK_WIDGET(self->reasoning_spinner), thinking);
  gtk_spinner_set_spinning(self->reasoning_spinner, thinking);
  if (thinking) {
    gtk_label_set_label(self->reasoning_label, _("Thinking…"));
  } else if (self->reasoning_s > 0) {
    g_autofree char *t = format_seconds(self->reasoning_s);
    g_autofree char *title = g_strdup_printf(_("Thought for %s"), t);
    gtk_label_set_label(self->reasoning_label, title);
  } else {
    gtk_label_set_label(self->reasoning_label, _("Reasoning"));
  }
}

static void update_footer(DistillMessageRow *self)
{
  if (is_answer(self) && !self->streaming) {
    g_autofree char *stats = format_stats(self->msg, self->reasoning_s);
    gtk_label_set_label(self->stats_label, stats);
    g_autofree char *tip = self->msg->model && self->details ? g_strdup_printf("%s\n%s", self->msg->model, self->details)
                           : g_strdup(self->msg->model ? self->msg->model : self->details);
    if (tip) gtk_widget_set_tooltip_text(GTK_WIDGET(self->stats_label), tip);
  } else if (self->streaming) {
    gtk_label_set_label(self->stats_label, _("Writing…"));
  } else {
    gtk_label_set_label(self->stats_label, "");
  }
  gboolean failed = self->msg->state == DISTILL_MESSAGE_FAILED && self->msg->note;
  gtk_widget_set_visible(GTK_WIDGET(self->error_label), failed);
  if (failed) gtk_label_set_label(self->error_label, self->msg->note);
  update_actions(self);
}

static void append_reasoning(DistillMessageRow *self, const char *text, gsize len)
{
  if (len == 0) return;
  GtkTextBuffer *buf = gtk_text_view_get_buffer(self->reasoning_view);
  GtkTextIter end;
  gtk_text_buffer_get_end_iter(buf, &end);
  gtk_text_buffer_insert(buf, &end, text, (int)len);
  if (!self->has_reasoning) {
    self->has_reasoning = TRUE;
    gtk_widget_set_visible(GTK_WIDGET(self->reasoning_expander), TRUE);
  }
}

/* Show the whole text of an answer at once (a stored message). */
static void show_answer_text(DistillMessageRow *self, const char *text, gboolean starts_in_think)
{
  g_autofree char *reasoning = NULL, *answer = NULL;
  distill_reasoning_parse(text, starts_in_think, &reasoning, &answer);
  GtkTextBuffer *buf = gtk_text_view_get_buffer(self->reasoning_view);
  gtk_text_buffer_set_text(buf, "", 0);
  self->has_reasoning = FALSE;
  gtk_widget_set_visible(GTK_WIDGET(self->reasoning_expander), FALSE);
  append_reasoning(self, reasoning, strlen(reasoning));
  answer_view_set_text(self->answer_view, answer);
}

static void setup_for_role(DistillMessageRow *self)
{
  const DistillMessage *m = self->msg;
  gboolean user = g_str_equal(m->role, "user") || g_str_equal(m->role, "system");
  gboolean notice = g_str_equal(m->role, "notice");
  gtk_widget_set_visible(self->bubble, user);
  gtk_widget_set_visible(self->notice_box, notice);
  gtk_widget_set_visible(GTK_WIDGET(self->answer_bin), is_answer(self));
  gtk_widget_set_visible(self->footer, !notice);
  gtk_widget_set_halign(self->footer, user ? GTK_ALIGN_END : GTK_ALIGN_FILL);
  if (user) gtk_label_set_label(self->user_label, m->content);
  if (notice) gtk_label_set_label(self->notice_label, m->content);
  if (is_answer(self)) {
    self->reasoning_s = m->reasoning_s;
    show_answer_text(self, m->content, m->starts_in_think);
    set_reasoning_title(self);
    gtk_widget_add_css_class(GTK_WIDGET(self), "answer");
  }
  if (user) gtk_widget_add_css_class(GTK_WIDGET(self), "question");
  update_footer(self);
}

/* ---- public ---- */

GtkWidget *distill_message_row_new(const DistillMessage *msg)
{
  g_return_val_if_fail(msg != NULL, NULL);
  DistillMessageRow *self = g_object_new(DISTILL_TYPE_MESSAGE_ROW, NULL);
  self->msg = distill_message_copy(msg);
  setup_for_role(self);
  return GTK_WIDGET(self);
}

gint64 distill_message_row_get_message_id(DistillMessageRow *self)
{
  g_return_val_if_fail(DISTILL_IS_MESSAGE_ROW(self), 0);
  return self->msg->id;
}

void distill_message_row_set_message_id(DistillMessageRow *self, gint64 id)
{
  g_return_if_fail(DISTILL_IS_MESSAGE_ROW(self));
  self->msg->id = id;
}

const char *distill_message_row_get_role(DistillMessageRow *self)
{
  g_return_val_if_fail(DISTILL_IS_MESSAGE_ROW(self), NULL);
  return self->msg->role;
}

const char *distill_message_row_get_text(DistillMessageRow *self)
{
  g_return_val_if_fail(DISTILL_IS_MESSAGE_ROW(self), NULL);
  return self->streaming ? self->text->str : self->msg->content;
}

char *distill_message_row_dup_reasoning(DistillMessageRow *self)
{
  g_return_val_if_fail(DISTILL_IS_MESSAGE_ROW(self), NULL);
  GtkTextBuffer *buf = gtk_text_view_get_buffer(self->reasoning_view);
  GtkTextIter a, b;
  gtk_text_buffer_get_bounds(buf, &a, &b);
  return gtk_text_buffer_get_text(buf, &a, &b, FALSE);
}

char *distill_message_row_dup_answer(DistillMessageRow *self)
{
  g_return_val_if_fail(DISTILL_IS_MESSAGE_ROW(self), NULL);
  return answer_view_dup_text(self->answer_view);
}

char *distill_message_row_dup_copy_text(DistillMessageRow *self)
{
  g_return_val_if_fail(DISTILL_IS_MESSAGE_ROW(self), NULL);
  if (!is_answer(self)) return g_strdup(self->msg->content);
  g_autofree char *answer = distill_message_row_dup_answer(self);
  g_strstrip(answer);
  /* an answer stopped while still reasoning: copy the reasoning */
  return *answer ? g_steal_pointer(&answer) : distill_message_row_dup_reasoning(self);
}

void distill_message_row_begin_stream(DistillMessageRow *self, gboolean starts_in_think)
{
  g_return_if_fail(DISTILL_IS_MESSAGE_ROW(self));
  g_clear_pointer(&self->split, distill_reasoning_split_free);
  self->split = distill_reasoning_split_new(starts_in_think);
  self->msg->starts_in_think = starts_in_think;
  g_string_truncate(self->text, 0);
  self->streaming = TRUE;
  /* the clock of "Thought for…" starts here, not at the first text: the
   * worker sends text at most 60 times a second, and a busy main loop can
   * get a whole short reasoning in one piece, which then took no time */
  self->stream_start_us = g_get_monotonic_time();
  self->reasoning_end_us = 0;
  self->reasoning_s = 0;
  self->has_reasoning = FALSE;
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->reasoning_view), "", 0);
  /* an R1 prompt opened the reasoning: show "Thinking…" before the first word comes */
  gtk_widget_set_visible(GTK_WIDGET(self->reasoning_expander), starts_in_think);
  answer_view_set_text(self->answer_view, "");
  set_reasoning_title(self);
  update_footer(self);
}

void distill_message_row_append(DistillMessageRow *self, const char *delta)
{
  g_return_if_fail(DISTILL_IS_MESSAGE_ROW(self));
  g_return_if_fail(self->streaming);
  if (!delta || !*delta) return;
  gint64 now = g_get_monotonic_time();
  if (self->stream_start_us == 0) self->stream_start_us = now;
  g_string_append(self->text, delta);

  g_autoptr(GString) reasoning = g_string_new(NULL);
  g_autoptr(GString) answer = g_string_new(NULL);
  DistillReasoningState before = distill_reasoning_split_get_state(self->split);
  distill_reasoning_split_feed(self->split, delta, -1, reasoning, answer);
  DistillReasoningState after = distill_reasoning_split_get_state(self->split);
  append_reasoning(self, reasoning->str, reasoning->len);
  /* a reasoning block (even an empty one) that just closed: stop the clock */
  if (after == DISTILL_REASONING_ANSWER && before != DISTILL_REASONING_ANSWER && self->reasoning_end_us == 0) {
    self->reasoning_end_us = now;
    if (before == DISTILL_REASONING_THINKING) {
      self->reasoning_s = (double)(now - self->stream_start_us) / G_USEC_PER_SEC;
      set_reasoning_title(self);
    }
  }
  if (answer->len) answer_view_append(self->answer_view, answer->str, (gssize)answer->len);
}

void distill_message_row_finish(DistillMessageRow *self, const DistillMessage *final)
{
  g_return_if_fail(DISTILL_IS_MESSAGE_ROW(self));
  if (self->streaming) {
    g_autoptr(GString) reasoning = g_string_new(NULL);
    g_autoptr(GString) answer = g_string_new(NULL);
    distill_reasoning_split_finish(self->split, reasoning, answer);
    append_reasoning(self, reasoning->str, reasoning->len);
    if (answer->len) answer_view_append(self->answer_view, answer->str, (gssize)answer->len);
    /* stopped while still thinking: it thought until now */
    if (self->reasoning_end_us == 0 && self->has_reasoning && self->stream_start_us)
      self->reasoning_s = (double)(g_get_monotonic_time() - self->stream_start_us) / G_USEC_PER_SEC;
    self->streaming = FALSE;
    g_clear_pointer(&self->split, distill_reasoning_split_free);
    /* the model skipped its reasoning ("<think>\n\n</think>"): nothing to fold */
    gtk_widget_set_visible(GTK_WIDGET(self->reasoning_expander), self->has_reasoning);
  }
  if (final) {
    DistillMessage *copy = distill_message_copy(final);
    distill_message_free(self->msg);
    self->msg = copy;
    if (self->msg->reasoning_s <= 0) self->msg->reasoning_s = self->reasoning_s;
    else self->reasoning_s = self->msg->reasoning_s;
  } else {
    g_free(self->msg->content);
    self->msg->content = g_strdup(self->text->str);
    self->msg->reasoning_s = self->reasoning_s;
  }
  set_reasoning_title(self);
  update_footer(self);
}

gboolean distill_message_row_is_streaming(DistillMessageRow *self)
{
  g_return_val_if_fail(DISTILL_IS_MESSAGE_ROW(self), FALSE);
  return self->streaming;
}

double distill_message_row_get_reasoning_seconds(DistillMessageRow *self)
{
  g_return_val_if_fail(DISTILL_IS_MESSAGE_ROW(self), 0);
  if (self->streaming && self->reasoning_end_us == 0 && self->stream_start_us)
    return (double)(g_get_monotonic_time() - self->stream_start_us) / G_USEC_PER_SEC;
  return self->reasoning_s;
}

void distill_message_row_set_can_regenerate(DistillMessageRow *self, gboolean can)
{
  g_return_if_fail(DISTILL_IS_MESSAGE_ROW(self));
  self->can_regenerate = can;
  update_actions(self);
}

void distill_message_row_set_actions_sensitive(DistillMessageRow *self, gboolean sensitive)
{
  g_return_if_fail(DISTILL_IS_MESSAGE_ROW(self));
  self->actions_sensitive = sensitive;
  update_actions(self);
}

/* ---- actions ---- */

static void copy_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillMessageRow *self = DISTILL_MESSAGE_ROW(widget);
  g_autofree char *text = distill_message_row_dup_copy_text(self);
  gdk_clipboard_set_text(gtk_widget_get_clipboard(widget), text);
  /* tell the user it worked, through the nearest toast overlay */
  GtkWidget *overlay = gtk_widget_get_ancestor(widget, ADW_TYPE_TOAST_OVERLAY);
  if (overlay) {
    AdwToast *toast = adw_toast_new(_("Copied to the clipboard"));
    adw_toast_set_timeout(toast, 2);
    adw_toast_overlay_add_toast(ADW_TOAST_OVERLAY(overlay), toast);
  }
}

static void edit_action(GtkWidget *widget, const char *name, GVariant *param)
{
  g_signal_emit(widget, signals[SIGNAL_EDIT], 0);
}

static void regenerate_action(GtkWidget *widget, const char *name, GVariant *param)
{
  g_signal_emit(widget, signals[SIGNAL_REGENERATE], 0);
}

/* (AdwBin disposes its child, the template's root: no gtk_widget_dispose_template) */
static void distill_message_row_finalize(GObject *object)
{
  DistillMessageRow *self = DISTILL_MESSAGE_ROW(object);
  distill_message_free(self->msg);
  g_string_free(self->text, TRUE);
  g_clear_pointer(&self->split, distill_reasoning_split_free);
  g_free(self->details);
  G_OBJECT_CLASS(distill_message_row_parent_class)->finalize(object);
}

static void distill_message_row_class_init(DistillMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->finalize = distill_message_row_finalize;

  signals[SIGNAL_EDIT] =
    g_signal_new("edit", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_REGENERATE] =
    g_signal_new("regenerate", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-message-row.ui");
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, bubble);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, user_label);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, notice_box);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, notice_label);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, reasoning_expander);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, reasoning_spinner);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, reasoning_label);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, reasoning_view);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, answer_bin);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, error_label);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, footer);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, stats_label);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, copy_button);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, edit_button);
  gtk_widget_class_bind_template_child(widget_class, DistillMessageRow, regenerate_button);

  gtk_widget_class_install_action(widget_class, "row.copy", NULL, copy_action);
  gtk_widget_class_install_action(widget_class, "row.edit", NULL, edit_action);
  gtk_widget_class_install_action(widget_class, "row.regenerate", NULL, regenerate_action);
  gtk_widget_class_set_css_name(widget_class, "message");
}

/* The "reasoning-expanded" preference (FALSE where the app's settings schema is not installed). */
static gboolean reasoning_expanded_default(void)
{
  static GSettings *settings;
  static gsize looked = 0;
  if (g_once_init_enter(&looked)) {
    GSettingsSchemaSource *src = g_settings_schema_source_get_default();
    g_autoptr(GSettingsSchema) schema = src ? g_settings_schema_source_lookup(src, APP_ID, TRUE) : NULL;
    if (schema && g_settings_schema_has_key(schema, "reasoning-expanded")) settings = g_settings_new(APP_ID);
    g_once_init_leave(&looked, 1);
  }
  return settings ? g_settings_get_boolean(settings, "reasoning-expanded") : FALSE;
}

gboolean distill_message_row_get_reasoning_expanded(DistillMessageRow *self)
{
  g_return_val_if_fail(DISTILL_IS_MESSAGE_ROW(self), FALSE);
  return gtk_expander_get_expanded(self->reasoning_expander);
}

void distill_message_row_set_details(DistillMessageRow *self, const char *details)
{
  g_return_if_fail(DISTILL_IS_MESSAGE_ROW(self));
  g_free(self->details);
  self->details = details && *details ? g_strdup(details) : NULL;
  update_footer(self);
}

static void distill_message_row_init(DistillMessageRow *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  /* the reasoning starts folded away unless the user prefers to see it */
  gtk_expander_set_expanded(self->reasoning_expander, reasoning_expanded_default());
  self->text = g_string_new(NULL);
  self->actions_sensitive = TRUE;
  self->answer_view = answer_view_new();
  gtk_widget_set_hexpand(self->answer_view, TRUE);
  adw_bin_set_child(self->answer_bin, self->answer_view);
}
