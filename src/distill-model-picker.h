/* distill-model-picker.h — the chat's model picker: fills the list in the
 * model popover of the chat header.
 *
 * First the models on this computer, each with what it would run like here
 * ("Runs fully on your GPU", "Runs on the CPU only (~3 tok/s)": the engine's
 * fit estimate from the file's header, computed on a worker thread), then a
 * "Remote" section with the models of every connection in Preferences →
 * Connections, or a row saying in plain words why a connection did not answer.
 * The model lists are kept between fills: a list the picker has is shown at
 * once, and asked for again in the background when it is older than a minute. */
#pragma once

#include <adwaita.h>

#include "distill-hardware.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_MODEL_PICKER (distill_model_picker_get_type())
G_DECLARE_FINAL_TYPE(DistillModelPicker, distill_model_picker, DISTILL, MODEL_PICKER, GObject)

/* Signals:
 *   "local-chosen"  (const char *path)
 *   "remote-chosen" (const char *endpoint_id, const char *model) */
DistillModelPicker *distill_model_picker_new(GtkListBox *list, GSettings *settings);

/* The hardware the verdicts are for; without one: distill_hardware_get_default(). */
void distill_model_picker_set_hardware(DistillModelPicker *self, DistillHardware *hardware);

/* Fill the list: local_paths (char*; the current one first when it is not
 * in the models folder), the model in use (a path, or an endpoint id and a
 * model) marked. models_folder is shown when there are no local models. */
void distill_model_picker_fill(DistillModelPicker *self, GPtrArray *local_paths, const char *models_folder,
                               const char *current_path, const char *current_endpoint_id,
                               const char *current_remote_model);

/* "Open Model File…": a file chooser for a GGUF anywhere; emits "local-chosen". */
void distill_model_picker_open_file(DistillModelPicker *self, GtkWindow *parent);

/* Stop asking servers and computing verdicts (the popover closed, the page goes). */
void distill_model_picker_cancel(DistillModelPicker *self);

/* The age past which a kept model list is asked for again (0: on every fill);
 * and forgetting every kept list. For tests. */
void distill_model_picker_set_cache_max_age(guint ms);
void distill_model_picker_forget_cache(void);

/* The short verdict line of a local model, e.g. "Runs fully on your GPU". */
char *distill_model_picker_verdict_text(const still_fit *fit);

G_END_DECLS
