/* distill-prefs-models.c — the "Models" preferences page.
 *
 * One editor (GPU layers, CPU threads, context memory type, context size) for the defaults, and
 * one per installed model inside an expander row whose switch says whether the model has its own
 * settings. Every change is written to GSettings at once (distill-load-settings.c); the chat reads
 * them before it loads a model and before each answer. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "distill-chat-settings.h"
#include "distill-load-settings.h"
#include "distill-prefs-models.h"

enum { GPU_AUTO, GPU_NONE, GPU_FIXED };
enum { THREADS_AUTO, THREADS_FIXED };
static const char *const kv_names[] = {"f16", "f32", "q8_0"};

typedef struct {
  DistillPrefsModels *page;
  char *model_path; /* NULL: the defaults */
  gboolean filling; /* showing stored values: do not write them back */
  int n_layers;     /* the model's layers (0: unknown, or the defaults) */
  AdwExpanderRow *expander;
  AdwComboRow *gpu_mode;
  AdwActionRow *gpu_row;
  GtkSpinButton *gpu_spin;
  AdwComboRow *threads_mode;
  AdwActionRow *threads_row;
  GtkSpinButton *threads_spin;
  AdwComboRow *kv;
  GtkSpinButton *ctx_spin;
} Editor;

struct _DistillPrefsModels {
  AdwPreferencesPage parent_instance;

  GSettings *settings;
  DistillHardware *hardware;
  char *models_dir;
  gboolean saving; /* our own write: no need to rebuild the model rows */

  AdwPreferencesGroup *defaults_group;
  AdwPreferencesGroup *chat_group;
  AdwPreferencesGroup *models_group;
  GPtrArray *editors;     /* Editor*, [0] the defaults */
  GPtrArray *model_rows;  /* GtkWidget* in models_group */
};

G_DEFINE_FINAL_TYPE(DistillPrefsModels, distill_prefs_models, ADW_TYPE_PREFERENCES_PAGE)

static void editor_free(Editor *e)
{
  /* the rows may outlive the editor (a page being disposed) */
  GObject *rows[] = {G_OBJECT(e->gpu_mode), G_OBJECT(e->gpu_spin),     G_OBJECT(e->threads_mode),
                     G_OBJECT(e->threads_spin), G_OBJECT(e->kv), G_OBJECT(e->ctx_spin), G_OBJECT(e->expander)};
  for (guint i = 0; i < G_N_ELEMENTS(rows); i++)
    if (rows[i]) g_signal_handlers_disconnect_by_data(rows[i], e);
  g_free(e->model_path);
  g_free(e);
}

/* ---- building rows ---- */

static char *widget_name(Editor *e, const char *what)
{
  if (e->model_path == NULL) return g_strdup(what);
  g_autofree char *key = distill_load_settings_model_key(e->model_path);
  return g_strdup_printf("%s/%s", key, what);
}

static void add_row(Editor *e, GtkWidget *row)
{
  if (e->expander) adw_expander_row_add_row(e->expander, row);
  else adw_preferences_group_add(e->page->defaults_group, row);
}

static AdwComboRow *combo_row(Editor *e, const char *name, const char *title, const char *const *items)
{
  AdwComboRow *row = ADW_COMBO_ROW(adw_combo_row_new());
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
  adw_combo_row_set_model(row, G_LIST_MODEL(gtk_string_list_new(items)));
  adw_action_row_set_subtitle_lines(ADW_ACTION_ROW(row), 4);
  g_autofree char *wname = widget_name(e, name);
  gtk_widget_set_name(GTK_WIDGET(row), wname);
  add_row(e, GTK_WIDGET(row));
  return row;
}

static GtkSpinButton *spin_row(Editor *e, const char *name, const char *title, const char *subtitle, double lower,
                               double upper, double step, AdwActionRow **row_out)
{
  AdwActionRow *row = ADW_ACTION_ROW(adw_action_row_new());
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
  if (subtitle) adw_action_row_set_subtitle(row, subtitle);
  GtkWidget *spin = gtk_spin_button_new_with_range(lower, upper, step);
  gtk_widget_set_valign(spin, GTK_ALIGN_CENTER);
  gtk_spin_button_set_numeric(GTK_SPIN_BUTTON(spin), TRUE);
  g_autofree char *wname = widget_name(e, name);
  gtk_widget_set_name(spin, wname);
  gtk_accessible_update_relation(GTK_ACCESSIBLE(spin), GTK_ACCESSIBLE_RELATION_LABELLED_BY, row, NULL, -1);
  adw_action_row_add_suffix(row, spin);
  adw_action_row_set_activatable_widget(row, spin);
  add_row(e, GTK_WIDGET(row));
  if (row_out) *row_out = row;
  return GTK_SPIN_BUTTON(spin);
}

/* ---- showing values ---- */

static void editor_update_subtitles(Editor *e)
{
  DistillPrefsModels *self = e->page;
  still_hardware hw;
  gboolean hw_known = distill_hardware_get_effective(self->hardware, &hw);
  guint gpu_mode = adw_combo_row_get_selected(e->gpu_mode);
  g_autofree char *gpu_sub = NULL;
  int n_cards = 0; /* discrete GPUs: the ones a split shares layers over (see distill-load-settings.h) */
  for (int i = 0; hw_known && i < hw.n_gpus && i < STILL_MAX_GPUS; i++)
    if (!hw.gpus[i].cpu_emulated && !hw.gpus[i].unified && !hw.gpus[i].duplicate && hw.gpus[i].free_bytes > 0)
      n_cards++;
  if (gpu_mode == GPU_NONE) {
    gpu_sub = g_strdup(_("Everything runs on the CPU. Slower, but leaves the GPU’s memory to other apps."));
  } else if (gpu_mode == GPU_FIXED) {
    if (n_cards > 1)
      gpu_sub = g_strdup(_("This many of the last layers run on the GPUs, shared out by their free memory, the "
                           "rest on the CPU. If the GPUs cannot hold them, fewer are used."));
    else
      gpu_sub = g_strdup(_("This many of the last layers run on the GPU, the rest on the CPU. If the GPU cannot "
                           "hold them, fewer are used."));
  } else if (e->model_path != NULL && e->n_layers > 0 && hw_known) {
    DistillLoadSettings ls;
    distill_load_settings_get(self->settings, e->model_path, &ls);
    DistillGpuPlacement pl;
    distill_load_settings_auto_placement(e->model_path, &hw, ls.context_size, ls.kv_type, &pl);
    if (pl.n_devices > 1)
      /* TRANSLATORS: %1$d of the model's %2$d layers, shared over %3$d GPUs */
      gpu_sub = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE,
                                            "As many as fit in the free memory of the GPUs: now %1$d of its %2$d "
                                            "layer, shared over %3$d GPUs.",
                                            "As many as fit in the free memory of the GPUs: now %1$d of its %2$d "
                                            "layers, shared over %3$d GPUs.",
                                            e->n_layers),
                                pl.gpu_layers, e->n_layers, pl.n_devices);
    else
      gpu_sub = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE,
                                            "As many as fit in the GPU’s free memory: now %1$d of its %2$d layer.",
                                            "As many as fit in the GPU’s free memory: now %1$d of its %2$d layers.",
                                            e->n_layers),
                                pl.gpu_layers, e->n_layers);
  } else if (n_cards > 1) {
    gpu_sub = g_strdup(_("As many layers as fit in the free memory of the GPUs, shared over them, from the “will "
                         "it fit” estimate."));
  } else {
    gpu_sub = g_strdup(_("As many layers as fit in the GPU’s free memory, from the “will it fit” estimate. None "
                         "when there is no usable GPU."));
  }
  adw_action_row_set_subtitle(ADW_ACTION_ROW(e->gpu_mode), gpu_sub);
  gtk_widget_set_visible(GTK_WIDGET(e->gpu_row), gpu_mode == GPU_FIXED);

  guint threads_mode = adw_combo_row_get_selected(e->threads_mode);
  g_autofree char *threads_sub = NULL;
  if (threads_mode == THREADS_FIXED)
    threads_sub = g_strdup(_("More threads than physical cores rarely helps; fewer leave the computer more "
                             "responsive."));
  else if (hw_known && hw.cpu_cores > 0)
    threads_sub = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "One per physical core: %d on this computer.",
                                              "One per physical core: %d on this computer.", hw.cpu_cores),
                                  hw.cpu_cores);
  else threads_sub = g_strdup(_("One per physical core."));
  adw_action_row_set_subtitle(ADW_ACTION_ROW(e->threads_mode), threads_sub);
  gtk_widget_set_visible(GTK_WIDGET(e->threads_row), threads_mode == THREADS_FIXED);

  const char *kv_sub;
  switch (adw_combo_row_get_selected(e->kv)) {
  case 1:
    kv_sub = _("Full-precision numbers: the most exact, but the context takes twice the memory of F16.");
    break;
  case 2:
    kv_sub = _("8-bit numbers: about half the memory of F16, so a longer context fits; answers may differ "
               "slightly. Only for models whose attention heads are a multiple of 32 wide.");
    break;
  default:
    kv_sub = _("Half-precision numbers: the usual choice. Half the memory of F32, with practically the same "
               "answers.");
    break;
  }
  adw_action_row_set_subtitle(ADW_ACTION_ROW(e->kv), kv_sub);

  if (e->expander) {
    DistillLoadSettings ls;
    distill_load_settings_get(self->settings, e->model_path, &ls);
    still_fit_params p = still_fit_params_default();
    p.n_ctx = ls.context_size;
    p.kv_type = distill_load_settings_kv_type(ls.kv_type);
    still_fit fit;
    still_error err = {0};
    g_autofree char *sub = NULL;
    still_hardware none;
    still_hardware_simulated(&none, 0, 0, NULL, false, 0, 0);
    if (still_fit_estimate_file(e->model_path, &none, &p, &fit, &err) == STILL_OK) {
      g_autofree char *kv_size = g_format_size(fit.kv_bytes);
      g_autofree char *weights = g_format_size(fit.weights_bytes);
      sub = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE,
                                        "%1$d layer, %2$s of weights; a context of %3$d tokens takes %4$s more.",
                                        "%1$d layers, %2$s of weights; a context of %3$d tokens takes %4$s more.",
                                        fit.n_layers),
                            fit.n_layers, weights, ls.context_size, kv_size);
    } else {
      sub = g_strdup_printf(_("Could not read this model: %s"), err.message);
    }
    adw_expander_row_set_subtitle(e->expander, sub);
  }
}

static void editor_load(Editor *e)
{
  DistillLoadSettings ls;
  distill_load_settings_get(e->page->settings, e->model_path, &ls);
  e->filling = TRUE;
  guint gpu_mode = ls.gpu_layers == DISTILL_GPU_LAYERS_AUTO ? GPU_AUTO : ls.gpu_layers == 0 ? GPU_NONE : GPU_FIXED;
  adw_combo_row_set_selected(e->gpu_mode, gpu_mode);
  if (ls.gpu_layers > 0) gtk_spin_button_set_value(e->gpu_spin, ls.gpu_layers);
  adw_combo_row_set_selected(e->threads_mode, ls.threads > 0 ? THREADS_FIXED : THREADS_AUTO);
  if (ls.threads > 0) gtk_spin_button_set_value(e->threads_spin, ls.threads);
  guint kv = 0;
  for (guint i = 0; i < G_N_ELEMENTS(kv_names); i++)
    if (g_str_equal(ls.kv_type, kv_names[i])) kv = i;
  adw_combo_row_set_selected(e->kv, kv);
  gtk_spin_button_set_value(e->ctx_spin, ls.context_size);
  if (e->expander) {
    adw_expander_row_set_enable_expansion(e->expander, ls.own);
    adw_expander_row_set_expanded(e->expander, FALSE);
  }
  e->filling = FALSE;
  editor_update_subtitles(e);
}

/* ---- writing values ---- */

static void editor_read(Editor *e, DistillLoadSettings *ls)
{
  memset(ls, 0, sizeof *ls);
  switch (adw_combo_row_get_selected(e->gpu_mode)) {
  case GPU_NONE: ls->gpu_layers = 0; break;
  case GPU_FIXED: ls->gpu_layers = MAX(1, gtk_spin_button_get_value_as_int(e->gpu_spin)); break;
  default: ls->gpu_layers = DISTILL_GPU_LAYERS_AUTO; break;
  }
  ls->threads = adw_combo_row_get_selected(e->threads_mode) == THREADS_FIXED
                  ? MAX(1, gtk_spin_button_get_value_as_int(e->threads_spin))
                  : DISTILL_THREADS_AUTO;
  guint kv = adw_combo_row_get_selected(e->kv);
  g_strlcpy(ls->kv_type, kv_names[kv < G_N_ELEMENTS(kv_names) ? kv : 0], sizeof ls->kv_type);
  ls->context_size = gtk_spin_button_get_value_as_int(e->ctx_spin);
}

static void editor_changed(Editor *e)
{
  if (e->filling) return;
  DistillPrefsModels *self = e->page;
  DistillLoadSettings ls;
  editor_read(e, &ls);
  self->saving = TRUE;
  if (e->model_path == NULL) {
    DistillLoadSettings old;
    distill_load_settings_get_defaults(self->settings, &old);
    /* write only what changed: each key has its own listeners */
    if (old.gpu_layers != ls.gpu_layers) g_settings_set_int(self->settings, "default-gpu-layers", ls.gpu_layers);
    if (old.threads != ls.threads) g_settings_set_int(self->settings, "default-cpu-threads", ls.threads);
    if (!g_str_equal(old.kv_type, ls.kv_type)) g_settings_set_string(self->settings, "default-kv-type", ls.kv_type);
    if (old.context_size != ls.context_size)
      g_settings_set_int(self->settings, "default-context-size", ls.context_size);
  } else if (adw_expander_row_get_enable_expansion(e->expander)) {
    distill_load_settings_set_model(self->settings, e->model_path, &ls);
  }
  self->saving = FALSE;
  editor_update_subtitles(e);
}

/* The model's own settings switched on (starting from the defaults) or off. */
static void editor_own_toggled(Editor *e)
{
  if (e->filling) return;
  DistillPrefsModels *self = e->page;
  gboolean own = adw_expander_row_get_enable_expansion(e->expander);
  self->saving = TRUE;
  if (own) {
    DistillLoadSettings ls;
    distill_load_settings_get_defaults(self->settings, &ls);
    distill_load_settings_set_model(self->settings, e->model_path, &ls);
  } else {
    distill_load_settings_set_model(self->settings, e->model_path, NULL);
  }
  self->saving = FALSE;
  editor_load(e);
  if (own) adw_expander_row_set_expanded(e->expander, TRUE);
}

static Editor *editor_new(DistillPrefsModels *self, const char *model_path)
{
  Editor *e = g_new0(Editor, 1);
  e->page = self;
  e->model_path = g_strdup(model_path);
  if (model_path) {
    g_autofree char *title = distill_model_display_name(model_path);
    g_autofree char *key = distill_load_settings_model_key(model_path);
    e->expander = ADW_EXPANDER_ROW(adw_expander_row_new());
    adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(e->expander), FALSE);
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(e->expander), title);
    adw_expander_row_set_show_enable_switch(e->expander, TRUE);
    gtk_widget_set_name(GTK_WIDGET(e->expander), key);
    gtk_widget_set_tooltip_text(GTK_WIDGET(e->expander), _("Give this model its own settings"));
    adw_preferences_group_add(self->models_group, GTK_WIDGET(e->expander));
    g_ptr_array_add(self->model_rows, e->expander);
    int n_layers = 0;
    distill_load_settings_auto_gpu_layers(model_path, NULL, 0, "f16", &n_layers);
    e->n_layers = n_layers;
  }

  static const char *gpu_items[] = {N_("Automatic"), N_("None (CPU only)"), N_("A fixed number"), NULL};
  static const char *threads_items[] = {N_("Automatic"), N_("A fixed number"), NULL};
  static const char *kv_items[] = {N_("F16 (default)"), N_("F32"), N_("Q8_0"), NULL};
  const char *gpu_t[G_N_ELEMENTS(gpu_items)], *threads_t[G_N_ELEMENTS(threads_items)], *kv_t[G_N_ELEMENTS(kv_items)];
  for (guint i = 0; i < G_N_ELEMENTS(gpu_items); i++) gpu_t[i] = gpu_items[i] ? _(gpu_items[i]) : NULL;
  for (guint i = 0; i < G_N_ELEMENTS(threads_items); i++) threads_t[i] = threads_items[i] ? _(threads_items[i]) : NULL;
  for (guint i = 0; i < G_N_ELEMENTS(kv_items); i++) kv_t[i] = kv_items[i] ? _(kv_items[i]) : NULL;

  e->gpu_mode = combo_row(e, "gpu-mode", _("GPU Layers"), gpu_t);
  e->gpu_spin = spin_row(e, "gpu-layers", _("Layers on the GPU"), NULL, 1, e->n_layers > 0 ? e->n_layers : 4096, 1,
                         &e->gpu_row);
  e->threads_mode = combo_row(e, "threads-mode", _("CPU Threads"), threads_t);
  e->threads_spin = spin_row(e, "threads", _("Threads"), NULL, 1, 1024, 1, &e->threads_row);
  e->kv = combo_row(e, "kv-type", _("Context Memory Type"), kv_t);
  e->ctx_spin = spin_row(e, "context-size", _("Context Size of New Chats"),
                         _("Tokens of conversation a new chat keeps in view. More takes more memory."), 512, 1048576,
                         512, NULL);
  gtk_spin_button_set_increments(e->ctx_spin, 512, 4096);

  g_signal_connect_swapped(e->gpu_mode, "notify::selected", G_CALLBACK(editor_changed), e);
  g_signal_connect_swapped(e->gpu_spin, "value-changed", G_CALLBACK(editor_changed), e);
  g_signal_connect_swapped(e->threads_mode, "notify::selected", G_CALLBACK(editor_changed), e);
  g_signal_connect_swapped(e->threads_spin, "value-changed", G_CALLBACK(editor_changed), e);
  g_signal_connect_swapped(e->kv, "notify::selected", G_CALLBACK(editor_changed), e);
  g_signal_connect_swapped(e->ctx_spin, "value-changed", G_CALLBACK(editor_changed), e);
  if (e->expander)
    g_signal_connect_swapped(e->expander, "notify::enable-expansion", G_CALLBACK(editor_own_toggled), e);
  g_ptr_array_add(self->editors, e);
  editor_load(e);
  return e;
}

/* ---- the installed models ---- */

static void rebuild_models(DistillPrefsModels *self)
{
  /* editors[0] is the defaults'; the others go first, while their rows still exist */
  if (self->editors->len > 1) g_ptr_array_remove_range(self->editors, 1, self->editors->len - 1);
  for (guint i = 0; i < self->model_rows->len; i++)
    adw_preferences_group_remove(self->models_group, g_ptr_array_index(self->model_rows, i));
  g_ptr_array_set_size(self->model_rows, 0);

  g_autoptr(GPtrArray) models = distill_find_model_files(self->models_dir);
  /* a model opened from elsewhere (imported in place) is installed too */
  g_autofree char *last = g_settings_get_string(self->settings, "last-model");
  if (*last && g_file_test(last, G_FILE_TEST_IS_REGULAR) &&
      !g_ptr_array_find_with_equal_func(models, last, g_str_equal, NULL))
    g_ptr_array_add(models, g_strdup(last));
  for (guint i = 0; i < models->len; i++) editor_new(self, g_ptr_array_index(models, i));
  if (models->len == 0) {
    GtkWidget *row = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), _("No models installed yet"));
    adw_action_row_set_subtitle(ADW_ACTION_ROW(row), self->models_dir);
    adw_preferences_group_add(self->models_group, row);
    g_ptr_array_add(self->model_rows, row);
  }
}

static void on_settings_changed(DistillPrefsModels *self, const char *key)
{
  if (self->saving) return;
  if (g_str_equal(key, "model-load-settings") || g_str_equal(key, "last-model")) {
    for (guint i = 1; i < self->editors->len; i++) editor_load(g_ptr_array_index(self->editors, i));
  } else if (g_str_has_prefix(key, "default-")) {
    for (guint i = 0; i < self->editors->len; i++) editor_load(g_ptr_array_index(self->editors, i));
  } else if (g_str_equal(key, "models-folder")) {
    g_free(self->models_dir);
    self->models_dir = g_strdup(distill_hardware_get_models_dir(self->hardware));
    rebuild_models(self);
  }
}

static void on_hardware_changed(DistillPrefsModels *self)
{
  for (guint i = 0; i < self->editors->len; i++) editor_update_subtitles(g_ptr_array_index(self->editors, i));
}

/* ---- object ---- */

static GtkWidget *find_named(GtkWidget *w, const char *name)
{
  if (g_strcmp0(gtk_widget_get_name(w), name) == 0) return w;
  for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *found = find_named(c, name);
    if (found) return found;
  }
  return NULL;
}

GtkWidget *distill_prefs_models_get_widget(DistillPrefsModels *self, const char *name)
{
  g_return_val_if_fail(DISTILL_IS_PREFS_MODELS(self), NULL);
  return find_named(GTK_WIDGET(self), name);
}

static void distill_prefs_models_dispose(GObject *object)
{
  DistillPrefsModels *self = DISTILL_PREFS_MODELS(object);
  if (self->settings) g_signal_handlers_disconnect_by_data(self->settings, self);
  if (self->hardware) g_signal_handlers_disconnect_by_data(self->hardware, self);
  g_clear_pointer(&self->editors, g_ptr_array_unref);
  g_clear_pointer(&self->model_rows, g_ptr_array_unref);
  g_clear_object(&self->settings);
  g_clear_object(&self->hardware);
  G_OBJECT_CLASS(distill_prefs_models_parent_class)->dispose(object);
}

static void distill_prefs_models_finalize(GObject *object)
{
  DistillPrefsModels *self = DISTILL_PREFS_MODELS(object);
  g_free(self->models_dir);
  G_OBJECT_CLASS(distill_prefs_models_parent_class)->finalize(object);
}

static void distill_prefs_models_class_init(DistillPrefsModelsClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = distill_prefs_models_dispose;
  G_OBJECT_CLASS(klass)->finalize = distill_prefs_models_finalize;
}

static void distill_prefs_models_init(DistillPrefsModels *self)
{
  self->editors = g_ptr_array_new_with_free_func((GDestroyNotify)editor_free);
  self->model_rows = g_ptr_array_new();
}

GtkWidget *distill_prefs_models_new(GSettings *settings, DistillHardware *hardware, const char *models_dir)
{
  DistillPrefsModels *self = g_object_new(DISTILL_TYPE_PREFS_MODELS, "title", _("Models"), "icon-name",
                                          "distill-library-symbolic", "name", "models", NULL);
  self->settings = settings ? g_object_ref(settings) : g_settings_new(APP_ID);
  self->hardware = g_object_ref(hardware ? hardware : distill_hardware_get_default());
  self->models_dir = g_strdup(models_dir ? models_dir : distill_hardware_get_models_dir(self->hardware));

  self->defaults_group = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
  adw_preferences_group_set_title(self->defaults_group, _("All Models"));
  adw_preferences_group_set_description(self->defaults_group,
                                        _("How models run, unless a model below has settings of its own. Changes "
                                          "apply from the next answer."));
  adw_preferences_page_add(ADW_PREFERENCES_PAGE(self), self->defaults_group);

  self->chat_group = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
  adw_preferences_group_set_title(self->chat_group, _("Answers"));
  GtkWidget *reasoning_row = adw_action_row_new();
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(reasoning_row), _("Show Reasoning"));
  adw_action_row_set_subtitle(ADW_ACTION_ROW(reasoning_row),
                              _("Answers start with the model’s reasoning shown instead of folded away"));
  GtkWidget *reasoning_switch = gtk_switch_new();
  gtk_widget_set_valign(reasoning_switch, GTK_ALIGN_CENTER);
  gtk_widget_set_name(reasoning_switch, "reasoning-expanded");
  gtk_accessible_update_relation(GTK_ACCESSIBLE(reasoning_switch), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                 reasoning_row, NULL, -1);
  adw_action_row_add_suffix(ADW_ACTION_ROW(reasoning_row), reasoning_switch);
  adw_action_row_set_activatable_widget(ADW_ACTION_ROW(reasoning_row), reasoning_switch);
  g_settings_bind(self->settings, "reasoning-expanded", reasoning_switch, "active", G_SETTINGS_BIND_DEFAULT);
  adw_preferences_group_add(self->chat_group, reasoning_row);
  adw_preferences_page_add(ADW_PREFERENCES_PAGE(self), self->chat_group);

  self->models_group = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
  adw_preferences_group_set_title(self->models_group, _("Installed Models"));
  adw_preferences_group_set_description(self->models_group,
                                        _("Switch a model on to give it settings of its own."));
  adw_preferences_page_add(ADW_PREFERENCES_PAGE(self), self->models_group);

  editor_new(self, NULL);
  rebuild_models(self);

  g_signal_connect_swapped(self->settings, "changed", G_CALLBACK(on_settings_changed), self);
  g_signal_connect_swapped(self->hardware, "changed", G_CALLBACK(on_hardware_changed), self);
  return GTK_WIDGET(self);
}
